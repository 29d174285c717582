package dev.kdirect.testing;

import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Backs {@link ForceSimulatedKernel}: opens a {@link Kernels#overrideForThread} scope with a fresh simulated
 * kernel around each test (and one around the class's {@code @BeforeAll}/{@code @AfterAll}), closes it after,
 * and resolves {@link Kernel} parameters to the kernel in place.
 */
public final class SimulatedKernelExtension
        implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback, ParameterResolver {
    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(
            SimulatedKernelExtension.class);

    @Override
    public void beforeAll(ExtensionContext context) {
        open(context);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        close(context);
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        open(context);
    }

    @Override
    public void afterEach(ExtensionContext context) {
        close(context);
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == Kernel.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        Kernels.Scope scope = context.getStore(NAMESPACE).get(Kernels.Scope.class, Kernels.Scope.class);
        if (scope == null) {
            throw new org.junit.jupiter.api.extension.ParameterResolutionException("no simulated kernel is in place"
                    + " for " + context.getDisplayName() + ": a test's constructor gets none, its methods do");
        }
        return scope.kernel();
    }

    // A scope per context: the store lookup walks up to the class's scope for @BeforeAll and @AfterAll methods.
    private static void open(ExtensionContext context) {
        context.getStore(NAMESPACE).put(Kernels.Scope.class, Kernels.overrideForThread(Kernels.newSimulated()));
    }

    private static void close(ExtensionContext context) {
        Kernels.Scope scope = context.getStore(NAMESPACE).remove(Kernels.Scope.class, Kernels.Scope.class);
        if (scope != null) {
            scope.close();
        }
    }
}
