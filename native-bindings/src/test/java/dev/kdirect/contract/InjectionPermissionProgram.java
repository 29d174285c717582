package dev.kdirect.contract;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.kdirect.Advice;
import dev.kdirect.Binding;
import dev.kdirect.Capability;
import dev.kdirect.Credentials;
import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import dev.kdirect.MapFlags;
import dev.kdirect.Prot;
import java.lang.foreign.MemorySegment;

/**
 * The steps of {@link MemoryFailureContractTest}'s permission test, on any {@link Kernel}: memory-failure
 * injection in a process without CAP_SYS_ADMIN. {@link #main} runs them on a real binding in a child JVM that
 * lacks the capability and prints the outcomes (see {@link Outcomes}).
 */
public final class InjectionPermissionProgram {
    private InjectionPermissionProgram() {
    }

    /** {@code main(binding id)}: this process's CAP_SYS_ADMIN, then the outcomes. */
    public static void main(String[] args) throws Exception {
        System.out.println("CAP_SYS_ADMIN " + Credentials.ofCurrentProcess().capable(Capability.SYS_ADMIN));
        outcomes(Kernels.of(Binding.parse(args[0]))).print();
    }

    /** Injection into a written page, after the range checks that come before the capability's. */
    static Outcomes outcomes(Kernel kernel) throws Exception {
        long page = kernel.pageSize();
        MemorySegment m = kernel.mmap(MemorySegment.NULL, page, Prot.READ_WRITE,
                MapFlags.PRIVATE | MapFlags.ANONYMOUS, -1, 0);
        m.set(JAVA_LONG, 0, 1L); // its own frame: an injection with the capability would poison it
        Outcomes out = new Outcomes()
                .step("hwpoison", () -> kernel.madvise(m, page, Advice.HWPOISON))
                .step("soft-offline", () -> kernel.madvise(m, page, Advice.SOFT_OFFLINE))
                .step("hwpoison-unaligned", () -> kernel.madvise(MemorySegment.ofAddress(m.address() + 8), page,
                        Advice.HWPOISON))
                .step("hwpoison-empty", () -> kernel.madvise(m, 0, Advice.HWPOISON))
                .put("after", m.get(JAVA_LONG, 0));
        kernel.munmap(m, page);
        return out;
    }
}
