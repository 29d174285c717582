package dev.kdirect.probe;

import dev.kdirect.Advice;
import dev.kdirect.Capability;
import dev.kdirect.Errno;
import dev.kdirect.Feature;
import dev.kdirect.FeatureStatus;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.MapFlags;
import dev.kdirect.Prot;
import java.lang.foreign.MemorySegment;

/**
 * madvise(MADV_HWPOISON) with length 0: the kernel validates the advice first (EINVAL without
 * CONFIG_MEMORY_FAILURE) and returns 0 for an empty range before injecting anything (mm/madvise.c). Injection
 * also needs CAP_SYS_ADMIN, read from the effective capability set.
 */
final class MemoryFailureProbe {
    private MemoryFailureProbe() {
    }

    static FeatureStatus probe(Kernel kernel) {
        try {
            MemorySegment page = kernel.mmap(MemorySegment.NULL, kernel.pageSize(), Prot.READ_WRITE,
                    MapFlags.PRIVATE | MapFlags.ANONYMOUS, -1, 0);
            try {
                kernel.madvise(page, 0, Advice.HWPOISON);
            } finally {
                kernel.munmap(page, kernel.pageSize());
            }
        } catch (KernelException e) {
            String action = e.is(Errno.EINVAL) ? "this kernel lacks CONFIG_MEMORY_FAILURE: use a kernel built with it"
                    + " (Debian's has it)" + HostFacts.inRepository("ci/qemu/run -- ./kdirect doctor") : e.hint();
            return FeatureStatus.missing(Feature.MEMORY_FAILURE, "madvise(MADV_HWPOISON) is not supported: "
                    + e.errnoName(), action, e);
        }
        try {
            if (!Capability.SYS_ADMIN.in(kernel.effectiveCapabilities())) {
                return FeatureStatus.missing(Feature.MEMORY_FAILURE, "the kernel supports MADV_HWPOISON but this process"
                        + " lacks CAP_SYS_ADMIN", "run with sudo", null);
            }
        } catch (KernelException e) {
            return FeatureStatus.missing(Feature.MEMORY_FAILURE, "capget failed: " + e.errnoName(), e.hint(), e);
        }
        return FeatureStatus.real(Feature.MEMORY_FAILURE,
                "madvise(MADV_HWPOISON) is supported and the process has CAP_SYS_ADMIN");
    }
}
