package dev.kdirect.probe;

import dev.kdirect.Errno;
import dev.kdirect.Feature;
import dev.kdirect.FeatureStatus;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.KexecFlags;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * Calls kexec_file_load with KEXEC_FILE_UNLOAD when nothing is loaded (it returns 0 before reading any file).
 * When a kernel IS loaded, UNLOAD would unload it, so the probe passes an unknown flag instead: the kernel
 * checks permission, then flags (kernel/kexec_file.c), so EINVAL proves the syscall exists and is permitted.
 */
final class KexecProbe {
    private static final long KEXEC_FILE_UNLOAD = KexecFlags.UNLOAD;
    private static final long UNKNOWN_FLAG = 1L << 30;

    private KexecProbe() {
    }

    static FeatureStatus probe(Kernel kernel) {
        boolean loaded = "1".equals(HostFacts.read(Path.of("/sys/kernel/kexec_loaded")));
        long flags = loaded ? UNKNOWN_FLAG : KEXEC_FILE_UNLOAD;
        String call = "kexec_file_load(-1, -1, 0, NULL, " + (loaded ? "unknown flag" : "KEXEC_FILE_UNLOAD") + ")";
        try {
            kernel.kexecFileLoad(-1, -1, MemorySegment.NULL, flags);
            return FeatureStatus.real(Feature.KEXEC_FILE_LOAD, call + " returned 0");
        } catch (KernelException e) {
            if (loaded && e.is(Errno.EINVAL)) {
                return FeatureStatus.real(Feature.KEXEC_FILE_LOAD, call + " reached the flag check (EINVAL);"
                        + " a kernel is already loaded");
            }
            return FeatureStatus.missing(Feature.KEXEC_FILE_LOAD, call + " failed: " + e.errnoName(), action(e), e);
        }
    }

    private static String action(KernelException e) {
        if (e.is(Errno.ENOSYS)) {
            return "this kernel lacks CONFIG_KEXEC_FILE: use a kernel built with it (Debian's has it)"
                    + HostFacts.inRepository("ci/qemu/run -- ./kdirect doctor");
        }
        if (e.is(Errno.EPERM)) {
            String disabled = HostFacts.read(Path.of("/proc/sys/kernel/kexec_load_disabled"));
            String lockdown = HostFacts.read(Path.of("/sys/kernel/security/lockdown"));
            if ("1".equals(disabled)) {
                return "kexec_load_disabled is 1 (it cannot be reset until reboot): reboot without setting it";
            }
            if (lockdown.contains("[integrity]") || lockdown.contains("[confidentiality]")) {
                return "the kernel is locked down (" + lockdown + "): only signed images load; check the signature";
            }
            return "kexec needs CAP_SYS_BOOT: run with sudo";
        }
        return e.hint();
    }
}
