package dev.kdirect;

/** Flags for {@code open} (include/uapi/asm-generic/fcntl.h, x86-64 values). */
public final class OpenFlags {
    public static final int RDONLY = 0;
    public static final int WRONLY = 01;
    public static final int RDWR = 02;
    /** Mask of the access mode bits. */
    public static final int ACCMODE = 03;
    public static final int CREAT = 0100;
    public static final int EXCL = 0200;
    public static final int TRUNC = 01000;
    public static final int APPEND = 02000;
    public static final int NONBLOCK = 04000;
    public static final int DIRECTORY = 0200000;
    public static final int NOFOLLOW = 0400000;
    public static final int CLOEXEC = 02000000;

    private OpenFlags() {
    }
}
