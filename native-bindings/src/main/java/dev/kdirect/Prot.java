package dev.kdirect;

/** Page protection bits for {@code mmap}, {@code mprotect} and {@code pkey_mprotect} (include/uapi/asm-generic/mman-common.h). */
public final class Prot {
    /** No access. */
    public static final int NONE = 0x0;
    /** Pages may be read. */
    public static final int READ = 0x1;
    /** Pages may be written. */
    public static final int WRITE = 0x2;
    /** Pages may be executed. */
    public static final int EXEC = 0x4;
    /** Read and write. */
    public static final int READ_WRITE = READ | WRITE;

    private Prot() {
    }
}
