package dev.kdirect.backend.simulated;

import dev.kdirect.OpenFlags;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An open regular file or directory of the host's file system, reached through NIO. Access mode bits decide
 * FMODE_READ and FMODE_WRITE, as in fs/open.c. {@code dax} marks files on a simulated DAX mount, the only ones
 * on which MAP_SYNC succeeds.
 */
final class OpenFile implements FileDescription {
    final Path path;
    final FileChannel channel; // null for a directory
    final int flags;
    final boolean dax;
    /** The file's identity (device and inode) when it was opened, or null where the channel is not the file's own. */
    final Object fileKey;

    OpenFile(Path path, FileChannel channel, int flags, boolean dax, Object fileKey) {
        this.path = path;
        this.channel = channel;
        this.flags = flags;
        this.dax = dax;
        this.fileKey = fileKey;
    }

    /** The identity of the file at {@code path} now, or null. */
    static Object fileKeyOf(Path path) {
        try {
            return Files.readAttributes(path, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        } catch (IOException e) {
            return null;
        }
    }

    /** Whether {@code path} still names the file this descriptor holds. */
    boolean pathStillNamesIt() {
        return fileKey != null && fileKey.equals(fileKeyOf(path));
    }

    /**
     * The type of the host file system holding the file, as /proc/self/mounts names it ("ext4", "tmpfs", ...),
     * or "" where the JDK cannot tell (the file is gone, or its mount is not listed).
     */
    String fileSystemType() {
        try {
            return Files.getFileStore(path).type();
        } catch (IOException e) {
            return "";
        }
    }

    boolean directory() {
        return channel == null;
    }

    boolean canRead() {
        int mode = flags & OpenFlags.ACCMODE;
        return mode == OpenFlags.RDONLY || mode == OpenFlags.RDWR;
    }

    boolean canWrite() {
        int mode = flags & OpenFlags.ACCMODE;
        return mode == OpenFlags.WRONLY || mode == OpenFlags.RDWR;
    }

    /** i_size; an I/O error reaching it is the caller's to turn into an errno (EIO where none is named). */
    long size() throws IOException {
        return channel.size();
    }

    @Override
    public void release() {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // close(2) of a regular file cannot fail in a way the model reports
            }
        }
    }
}
