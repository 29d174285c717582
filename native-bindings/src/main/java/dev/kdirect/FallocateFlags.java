package dev.kdirect;

/** Mode bits for {@code fallocate} (include/uapi/linux/falloc.h). Mode 0 allocates and extends the file. */
public final class FallocateFlags {
    public static final int KEEP_SIZE = 0x01;
    public static final int PUNCH_HOLE = 0x02;
    /** Historical flag for block devices, unused by Linux's file systems. */
    public static final int NO_HIDE_STALE = 0x04;
    /** Removes the range, shifting the rest of the file down (file system blocks only). */
    public static final int COLLAPSE_RANGE = 0x08;
    public static final int ZERO_RANGE = 0x10;
    /** Inserts a hole of the range's length at the offset, shifting the rest of the file up (blocks only). */
    public static final int INSERT_RANGE = 0x20;
    /** Unshares shared (reflinked) blocks. */
    public static final int UNSHARE_RANGE = 0x40;
    /** Zeroes the range with the device's write-zeroes offload (Linux 6.17 and later). */
    public static final int WRITE_ZEROES = 0x80;

    private FallocateFlags() {
    }
}
