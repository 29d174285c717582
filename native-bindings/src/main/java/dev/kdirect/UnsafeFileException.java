package dev.kdirect;

import java.nio.file.Path;

/**
 * A file or directory kdirect refused to write through, because someone else could have put it there: a symbolic
 * link, something that is not a regular file (or directory), or a file owned by another user. The message names
 * the path, what was found and what to do.
 */
public final class UnsafeFileException extends RuntimeException {
    private final transient Path path;

    public UnsafeFileException(Path path, String message) {
        super(message);
        this.path = path;
    }

    /** The path refused. */
    public Path path() {
        return path;
    }
}
