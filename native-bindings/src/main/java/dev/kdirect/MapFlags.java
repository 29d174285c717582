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
    /** Place the mapping in the first 2 GiB (x86-64). */
    public static final int MAP_32BIT = 0x40;
    /** Place the mapping above 4 GiB (x86-64, since Linux 6.6). */
    public static final int ABOVE4G = 0x80;
    /** Back the mapping with huge pages (anonymous, or a hugetlbfs file); a size may be given with {@link #HUGE_SHIFT}. */
    public static final int HUGETLB = 0x40000;
    /** The shift of the huge page size's log2 in the flags (MAP_HUGE_SHIFT): {@code 21 << HUGE_SHIFT} is 2 MiB. */
    public static final int HUGE_SHIFT = 26;
    /** Huge pages of 2 MiB. */
    public static final int HUGE_2MB = 21 << HUGE_SHIFT;
    /** Huge pages of 1 GiB. */
    public static final int HUGE_1GB = 30 << HUGE_SHIFT;
    /** A grows-down (stack) area, VM_GROWSDOWN: private anonymous mappings only. */
    public static final int GROWSDOWN = 0x100;
    /** Lock the pages in memory (VM_LOCKED), as mlock does: needs RLIMIT_MEMLOCK room or CAP_IPC_LOCK. */
    public static final int LOCKED = 0x2000;
    /** Ignored since Linux 2.6 (kept in the legacy mask). */
    public static final int DENYWRITE = 0x800;
    /** A thread stack: no effect on x86-64 in 6.1 (later kernels make it VM_NOHUGEPAGE). */
    public static final int STACK = 0x20000;
    /** With {@link #POPULATE}: do not populate (since 2.6.23, no read-ahead either). */
    public static final int NONBLOCK = 0x10000;
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
