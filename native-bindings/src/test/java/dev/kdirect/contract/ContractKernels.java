package dev.kdirect.contract;

import dev.kdirect.Binding;
import dev.kdirect.Credentials;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.Kernels;
import dev.kdirect.testing.RequiredFeatures;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;

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

    /** Asserts the call fails with this errno name, and returns the exception for further checks. */
    public static KernelException assertErrno(String errnoName, ThrowingCallable call) {
        KernelException e = catchThrowableOfType(KernelException.class, call);
        assertThat(e).as("expected %s", errnoName).isNotNull();
        assertThat(e.errnoName()).as(e.getMessage()).isEqualTo(errnoName);
        return e;
    }
}
