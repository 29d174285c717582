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
    /** PROT_SEM: accepted by mprotect (arch_validate_prot) and otherwise ignored on x86-64. */
    public static final int SEM = 0x8;
    /** mprotect only: extend the change down to the start of a grows-down (stack) area. */
    public static final int GROWSDOWN = 0x01000000;
    /** mprotect only: extend the change up to the end of a grows-up area (none exist on x86-64). */
    public static final int GROWSUP = 0x02000000;

    private Prot() {
    }
}
