package dev.kdirect.pkeys;

/**
 * An access to protected memory that the calling thread's PKRU forbids, as the simulated kernel reports it
 * through a {@link ProtectedRegion}'s accessors. On the real kernel the same access is a SIGSEGV with si_code
 * SEGV_PKUERR (4) and the key in si_pkey (arch/x86/mm/fault.c), which kills the JVM with an hs_err report:
 * the model turns it into this exception so the mistake can be seen and tested.
 */
public final class ProtectionKeyFault extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int key;
    private final long address;
    private final boolean write;

    ProtectionKeyFault(int key, long address, boolean write, Access threadAccess) {
        super((write ? "write to" : "read of") + " 0x" + Long.toHexString(address) + " denied by protection key "
                + key + ": this thread's access is " + threadAccess + " (SIGSEGV, SEGV_PKUERR on real hardware)."
                + " Open an AccessWindow on the region first");
        this.key = key;
        this.address = address;
        this.write = write;
    }

    /** The protection key of the page (si_pkey). */
    public int key() {
        return key;
    }

    /** The faulting address (si_addr). */
    public long address() {
        return address;
    }

    /** True for a write, false for a read. */
    public boolean isWrite() {
        return write;
    }
}
