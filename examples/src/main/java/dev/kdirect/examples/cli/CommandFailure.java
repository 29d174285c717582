package dev.kdirect.examples.cli;

import dev.kdirect.Errno;

/**
 * A command failed in a way it can name: reported like every other error (one line, or one JSON object with
 * --json) with its own exit status.
 */
final class CommandFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int exitCode;
    private final transient Errno errno;
    private final String hint;

    /**
     * @param exitCode the exit status, listed in the command's help
     * @param message what went wrong
     * @param errno the errno behind it, or null when no system call failed
     * @param hint what to do, or an empty string
     */
    CommandFailure(int exitCode, String message, Errno errno, String hint) {
        super(message);
        this.exitCode = exitCode;
        this.errno = errno;
        this.hint = hint;
    }

    int exitCode() {
        return exitCode;
    }

    Errno errno() {
        return errno;
    }

    String hint() {
        return hint;
    }
}
