package dev.kdirect.contract;

import dev.kdirect.Binding;
import dev.kdirect.Capability;
import dev.kdirect.Credentials;
import dev.kdirect.Errno;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.Kernels;
import dev.kdirect.testing.RequiredFeatures;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Assumptions;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Shared support for contract suites: a kernel per binding, and errno assertions. */
public final class ContractKernels {
    private ContractKernels() {
    }

    /**
     * The kernel a contract class runs on. The simulated one is a fresh simulated process per test class, with
     * this process's credentials, so classes cannot disturb each other's model state.
     */
    public static Kernel kernel(Binding binding) {
        return binding == Binding.SIMULATED
                ? Kernels.newSimulated(Credentials.ofCurrentProcess(), List.of())
                : Kernels.of(binding);
    }

    /**
     * A fresh simulated process with this process's credentials less {@code capability}: what {@link
     * ChildJvm#runWithout} leaves a child JVM on the real kernel.
     */
    public static Kernel simulatedWithout(Capability capability) {
        Credentials self = Credentials.ofCurrentProcess();
        return Kernels.newSimulated(new Credentials(self.euid(),
                self.effectiveCapabilities() & ~(1L << capability.number()), self.umask()), List.of());
    }

    /**
     * The kernel a feature's contract class runs on. The simulated binding always runs. A real binding runs
     * where the feature is real; where it is missing the invocation is skipped, unless this place requires the
     * feature ({@code KDIRECT_REQUIRE}), then it fails with the probe's reason.
     */
    public static Kernel kernel(Binding binding, Feature feature) {
        if (binding.isReal() && !feature.isAvailable()) {
            if (RequiredFeatures.get().contains(feature)) {
                feature.ensureAvailable(); // throws FeatureUnavailableException with evidence and action
            }
            Assumptions.abort(feature.id() + " is not real here: " + feature.status().evidence());
        }
        return kernel(binding);
    }

    /**
     * The real kernel through a binding other than {@code binding}: the source of expected values that does not
     * share its code with the binding under test (JNA for FFM, FFM for JNA and the simulated kernel).
     */
    public static Kernel independentRealKernel(Binding binding) {
        return Kernels.of(binding == Binding.FFM ? Binding.JNA : Binding.FFM);
    }

    /**
     * For a test class run once per binding that compares the real kernel with the model: the real kernel, which is
     * {@code binding}'s own when it is real, else {@link #independentRealKernel}.
     */
    public static Kernel realSideOf(Binding binding) {
        return binding.isReal() ? kernel(binding) : independentRealKernel(binding);
    }

    /** The model side of {@link #realSideOf}: the simulated kernel. */
    public static Kernel simulatedSideOf(Binding binding) {
        return binding.isReal() ? kernel(Binding.SIMULATED) : kernel(binding);
    }

    /** Calls on a kernel whose answer (values, errno names) is compared whole between kernels. */
    @FunctionalInterface
    public interface Scenario<T> {
        T on(Kernel kernel) throws Exception;
    }

    /**
     * The real kernel's answer to {@code scenario}, which the simulated kernel must equal in the same run: runs it
     * on both, asserts the answers are equal and returns the real one, the expected value for further checks.
     */
    public static <T> T assertSimulatedAgrees(Kernel real, Kernel simulated, Scenario<T> scenario) throws Exception {
        T expected = scenario.on(real);
        assertThat(scenario.on(simulated)).as("the simulated kernel's answer, against the real kernel's")
                .isEqualTo(expected);
        return expected;
    }

    /** Asserts the call fails with this errno, and returns the exception for further checks. */
    public static KernelException assertErrno(Errno errno, ThrowingCallable call) {
        KernelException e = catchThrowableOfType(KernelException.class, call);
        assertThat(e).as("expected %s", errno).isNotNull();
        assertThat(e.error()).as(e.getMessage()).isEqualTo(errno);
        return e;
    }
}
