package dev.kdirect.backend;

/**
 * Whether the OS enabled PKU (CR4.PKE): the {@code ospke} CPU flag, set in setup_pku (arch/x86/kernel/cpu/common.c).
 * glibc's pkey_get and pkey_set execute RDPKRU and WRPKRU without checking, which raises SIGILL where PKU is off:
 * the real backends refuse with ENOSYS instead.
 */
public final class PkuSupport {
    private static final boolean ENABLED = CpuFlags.has("ospke");

    private PkuSupport() {
    }

    /** True when RDPKRU and WRPKRU may be executed in this process. */
    public static boolean enabledByOs() {
        return ENABLED;
    }
}
