package dev.kdirect;

/**
 * What fstat(2) says of an open file: the fields kdirect checks before trusting a file it did not create.
 *
 * @param mode {@code st_mode}: the file type ({@link #S_IFMT} bits) and the permission bits
 * @param uid {@code st_uid}: the owner
 * @param size {@code st_size}: the size in bytes
 */
public record FileStatus(int mode, int uid, long size) {
    /** The file type bits of {@code st_mode} (include/uapi/linux/stat.h). */
    public static final int S_IFMT = 0170000;
    public static final int S_IFREG = 0100000;
    public static final int S_IFDIR = 0040000;
    public static final int S_IFSOCK = 0140000;
    public static final int S_IFLNK = 0120000;

    public boolean isRegularFile() {
        return (mode & S_IFMT) == S_IFREG;
    }

    public boolean isDirectory() {
        return (mode & S_IFMT) == S_IFDIR;
    }

    public boolean isSocket() {
        return (mode & S_IFMT) == S_IFSOCK;
    }

    /** The permission bits (rwx for owner, group, others, and setuid/setgid/sticky). */
    public int permissions() {
        return mode & 07777;
    }
}
