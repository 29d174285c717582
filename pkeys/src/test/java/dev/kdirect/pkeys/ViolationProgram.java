package dev.kdirect.pkeys;

import dev.kdirect.Kernels;

/**
 * Run in a child JVM by {@link ViolationInChildJvmTest}: writes to a protected region inside a window (allowed),
 * then outside one (forbidden). On the real kernel the second write is a SIGSEGV with SEGV_PKUERR and the JVM
 * dies; on the simulated kernel it is a {@link ProtectionKeyFault}, reported with exit status 3.
 */
public final class ViolationProgram {
    static final int FAULT_EXIT = 3;

    private ViolationProgram() {
    }

    public static void main(String[] args) throws Exception {
        try (ProtectionKey key = ProtectionKey.allocate(Kernels.forFeature(dev.kdirect.Feature.PKEYS));
                ProtectedRegion region = ProtectedRegion.allocate(key, 4096)) {
            try (AccessWindow ignored = region.open(Access.READ_WRITE)) {
                region.setLong(0, 42L);
            }
            System.out.println("inside the window: ok on " + key.kernel().binding().id() + ", key " + key.number()
                    + ", region 0x" + Long.toHexString(region.address()));
            System.out.flush();
            try {
                region.setLong(0, 43L);
            } catch (ProtectionKeyFault fault) {
                System.out.println("fault: key=" + fault.key() + " address=0x" + Long.toHexString(fault.address())
                        + " write=" + fault.isWrite());
                System.exit(FAULT_EXIT);
            }
            System.out.println("outside the window: the write went through");
        }
    }
}
