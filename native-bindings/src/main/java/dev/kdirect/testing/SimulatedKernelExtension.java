package dev.kdirect.testing;

import dev.kdirect.Kernels;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/** Backs {@link ForceSimulatedKernel}. */
public final class SimulatedKernelExtension implements BeforeAllCallback, AfterAllCallback {

    @Override
    public void beforeAll(ExtensionContext context) {
        Kernels.overrideForTesting(Kernels.simulated());
    }

    @Override
    public void afterAll(ExtensionContext context) {
        Kernels.clearOverride();
    }
}
