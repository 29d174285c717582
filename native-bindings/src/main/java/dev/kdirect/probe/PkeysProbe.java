package dev.kdirect.probe;

import dev.kdirect.Errno;
import dev.kdirect.Feature;
import dev.kdirect.FeatureStatus;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;

/** Allocates a protection key and frees it again: the only test that tells whether PKU is usable. */
final class PkeysProbe {
    private PkeysProbe() {
    }

    static FeatureStatus probe(Kernel kernel) {
        try {
            int key = kernel.pkeyAlloc(0, 0);
            kernel.pkeyFree(key);
            return FeatureStatus.real(Feature.PKEYS, "pkey_alloc(0, 0) returned key " + key + " (freed again)");
        } catch (KernelException e) {
            return FeatureStatus.missing(Feature.PKEYS, "pkey_alloc(0, 0) failed: " + e.errnoName(), action(e), e);
        }
    }

    private static String action(KernelException e) {
        if (!HostFacts.cpuHasFlag("pku")) {
            return "this CPU has no 'pku' flag in /proc/cpuinfo: run on an Intel Xeon Scalable (Skylake-SP) or later"
                    + " or AMD Zen 3 or later CPU, or a QEMU guest with -cpu max"
                    + HostFacts.inRepository("ci/qemu/run -- ./kdirect doctor");
        }
        if (!HostFacts.cpuHasFlag("ospke")) {
            return "the CPU has PKU but the kernel did not enable it (no 'ospke'): boot without 'nopku'";
        }
        if (e.is(Errno.ENOSYS)) {
            return "the kernel lacks CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS: use a kernel built with it";
        }
        if (e.is(Errno.ENOSPC)) {
            return "all protection keys of this process are allocated: free one";
        }
        return e.hint();
    }
}
