package dev.kdirect;

/**
 * Flags of {@code msync} (include/uapi/asm-generic/mman-common.h): any other bit, or {@link #ASYNC} with
 * {@link #SYNC}, is EINVAL (mm/msync.c).
 */
public final class MsyncFlags {
    /** Start the write-back and return (a no-op since Linux 2.6.19: dirty pages are tracked anyway). */
    public static final int ASYNC = 1;
    /** Ask other mappings of the file to drop their cached pages (a no-op for shared file mappings today). */
    public static final int INVALIDATE = 2;
    /** Write the range's dirty file pages back and wait for them (vfs_fsync_range of the mapped file). */
    public static final int SYNC = 4;

    private MsyncFlags() {
    }
}
