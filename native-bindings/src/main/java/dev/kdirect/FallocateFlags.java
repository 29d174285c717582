package dev.kdirect;

/** Mode bits for {@code fallocate} (include/uapi/linux/falloc.h). Mode 0 allocates and extends the file. */
public final class FallocateFlags {
    public static final int KEEP_SIZE = 0x01;
    public static final int PUNCH_HOLE = 0x02;
    public static final int ZERO_RANGE = 0x10;

    private FallocateFlags() {
    }
}
