package dev.kdirect;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;

/**
 * Files kdirect writes on a user's behalf, opened through the {@link Kernel} so that nobody else can redirect the
 * write: the last component is never followed when it is a symbolic link (O_NOFOLLOW: ELOOP), a file is created
 * only where nothing, not even a dangling link, is (O_CREAT|O_EXCL, mode 0600), and a file that exists must be a
 * regular file owned by the caller (fstat of the open descriptor, so it is the file that will be written). Default
 * locations are in a per-user directory ({@link #userDirectory}).
 */
public final class UserFiles {
    private static final int NO_FOLLOW = OpenFlags.NOFOLLOW | OpenFlags.CLOEXEC;

    private UserFiles() {
    }

    /**
     * An open descriptor and what fstat said of the file.
     *
     * @param created the file did not exist and was created by this open
     */
    public record Opened(int fd, boolean created, FileStatus status) {
    }

    /**
     * Opens {@code file} read-write, creating it (0600) if nothing is at the path.
     *
     * @throws UnsafeFileException when the path is a symbolic link, not a regular file, or owned by another user
     * @throws KernelException ENOENT (no such directory), EACCES, ...
     */
    public static Opened openOrCreate(Kernel kernel, Path file) throws KernelException {
        try {
            int fd = kernel.open(file.toString(), OpenFlags.RDWR | OpenFlags.CREAT | OpenFlags.EXCL | NO_FOLLOW, 0600);
            return new Opened(fd, true, kernel.fstat(fd));
        } catch (KernelException e) {
            if (!e.is(Errno.EEXIST)) {
                throw e;
            }
        }
        int fd = openExisting(kernel, file, OpenFlags.RDWR);
        return new Opened(fd, false, kernel.fstat(fd));
    }

    /**
     * Opens an existing file with the access mode {@code access} ({@link OpenFlags#RDONLY} or {@link OpenFlags#RDWR}),
     * never through a symbolic link, and checks it is a regular file of the caller's.
     *
     * @throws UnsafeFileException as {@link #openOrCreate}
     * @throws KernelException ENOENT when there is no such file, EACCES, ...
     */
    public static int openExisting(Kernel kernel, Path file, int access) throws KernelException {
        int fd = openNoFollow(kernel, file, access);
        try {
            FileStatus status = kernel.fstat(fd);
            if (!status.isRegularFile()) {
                throw new UnsafeFileException(file, file + " is not a regular file (st_mode 0"
                        + Integer.toOctalString(status.mode()) + "): name a file of your own");
            }
            requireOwner(kernel, file, status);
            return fd;
        } catch (KernelException | RuntimeException e) {
            kernel.close(fd);
            throw e;
        }
    }

    /**
     * The directory for files kdirect keeps for this user by default: {@code $XDG_RUNTIME_DIR} when set, else
     * {@code kdirect-<euid>} in {@code tmp}, created 0700 if missing. Either must be a directory (not a link) of
     * the caller's that no one else may enter.
     *
     * @param env the environment ({@code System.getenv()})
     * @param tmp the shared temporary directory ({@code java.io.tmpdir})
     * @throws UnsafeFileException when the directory is a link, someone else's, or open to others
     */
    public static Path userDirectory(Kernel kernel, Map<String, String> env, Path tmp) throws KernelException {
        String runtime = env.getOrDefault("XDG_RUNTIME_DIR", "");
        Path dir = runtime.isBlank() ? tmp.resolve("kdirect-" + kernel.geteuid()) : Path.of(runtime);
        if (runtime.isBlank()) {
            try {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(
                        "rwx------")));
            } catch (FileAlreadyExistsException e) {
                // checked below: it must be ours and closed to others
            } catch (IOException e) {
                throw new UnsafeFileException(dir, "cannot create the per-user directory " + dir + ": " + e.getMessage()
                        + "; set XDG_RUNTIME_DIR to a directory of your own, or name the file explicitly");
            }
        }
        int fd = openNoFollow(kernel, dir, OpenFlags.RDONLY | OpenFlags.DIRECTORY);
        try {
            FileStatus status = kernel.fstat(fd);
            requireOwner(kernel, dir, status);
            if ((status.permissions() & 077) != 0) {
                throw new UnsafeFileException(dir, dir + " is open to other users (mode 0"
                        + Integer.toOctalString(status.permissions()) + "): a per-user directory must be 0700;"
                        + " chmod 700 it, or name the file explicitly");
            }
            return dir;
        } finally {
            kernel.close(fd);
        }
    }

    private static int openNoFollow(Kernel kernel, Path path, int flags) throws KernelException {
        try {
            return kernel.open(path.toString(), flags | NO_FOLLOW, 0);
        } catch (KernelException e) {
            // O_DIRECTORY|O_NOFOLLOW on a link is ENOTDIR (fs/namei.c do_open checks that before may_open's ELOOP)
            if (e.is(Errno.ELOOP) || (e.is(Errno.ENOTDIR) && Files.isSymbolicLink(path))) {
                throw new UnsafeFileException(path, path + " is a symbolic link: kdirect does not follow a link to"
                        + " a file it writes (anyone who could plant it could redirect the write); remove the link or"
                        + " name the real path");
            }
            if (e.is(Errno.ENOTDIR) && (flags & OpenFlags.DIRECTORY) != 0) {
                throw new UnsafeFileException(path, path + " is not a directory: remove it, or name the file"
                        + " explicitly");
            }
            throw e;
        }
    }

    private static void requireOwner(Kernel kernel, Path path, FileStatus status) {
        int me = kernel.geteuid();
        if (status.uid() != me) {
            throw new UnsafeFileException(path, path + " belongs to uid " + status.uid() + ", not to you (uid " + me
                    + "): kdirect writes only files of the user it runs as; remove it or name a path of your own");
        }
    }
}
