package dev.kdirect;

/** Flags for {@code mmap} (include/uapi/linux/mman.h, asm-generic/mman-common.h, x86-64 values). */
public final class MapFlags {
    /** Share the mapping; unknown flags are silently ignored. */
    public static final int SHARED = 0x01;
    /** Copy-on-write private mapping. */
    public static final int PRIVATE = 0x02;
    /** Like {@link #SHARED} but unknown or unsupported flags fail with EOPNOTSUPP: always use it with {@link #SYNC}. */
    public static final int SHARED_VALIDATE = 0x03;
    /** Mask of the mapping type bits. */
    public static final int TYPE_MASK = 0x0f;
    /** Place the mapping exactly at the address, replacing what is there. */
    public static final int FIXED = 0x10;
    /** Not backed by a file; fd is ignored (pass -1). */
    public static final int ANONYMOUS = 0x20;
    /** Do not reserve swap space. */
    public static final int NORESERVE = 0x4000;
    /** Pre-fault the pages. */
    public static final int POPULATE = 0x8000;
    /** Synchronous page faults for DAX: metadata is durable before a write fault returns (needs SHARED_VALIDATE). */
    public static final int SYNC = 0x80000;
    /** Like {@link #FIXED} but fails with EEXIST instead of replacing an existing mapping. */
    public static final int FIXED_NOREPLACE = 0x100000;

    private MapFlags() {
    }
}
