package dev.kdirect;

import dev.kdirect.backend.BackendKernel;
import dev.kdirect.backend.ffm.FfmBackend;
import dev.kdirect.backend.jna.JnaBackend;
import dev.kdirect.backend.simulated.SimulatedBackend;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Where {@link Kernel}s come from.
 *
 * <p>{@link #forFeature(Feature)} is what feature code uses: the real kernel (through the binding chosen with
 * {@code -Dkdirect.binding}) when the feature's probe found it working; otherwise what {@link Fallback} says
 * (by default the simulated kernel with one WARNING per feature; {@code -Dkdirect.fallback=fail} throws), and
 * an explicit real binding means real or fail. {@link Feature#resolution()} tells which in advance.
 * {@code -Dkdirect.binding=simulated} forces the simulated kernel everywhere, so the fallback can be tested on
 * a capable host too. Backends are created on first use, never in a static initialiser of this class.
 */
public final class Kernels {
    /** A path list of directories the simulated kernel treats as mounted with {@code -o dax}. */
    public static final String SIMULATED_DAX_PROPERTY = "kdirect.simulated.dax";

    private static volatile Kernel override;
    // Inherited like the simulated kernel's PKRU: threads a test starts see the test's kernel.
    private static final InheritableThreadLocal<Scope> THREAD_OVERRIDE = new InheritableThreadLocal<>();
    private static final FallbackWarnings WARNINGS = new FallbackWarnings(System.getLogger(FallbackWarnings.LOGGER));

    private Kernels() {
    }

    /**
     * The kernel for a feature, as {@link Feature#resolution()} says: real when its probe passed and the binding
     * is not forced to simulated, else the simulated kernel or {@link FeatureUnavailableException}.
     *
     * @throws FeatureUnavailableException when the feature is not real here and the fallback is
     *     {@link Fallback#FAIL} or the real binding was named explicitly
     */
    public static Kernel forFeature(Feature feature) {
        return forFeature(feature, WARNINGS);
    }

    static Kernel forFeature(Feature feature, FallbackWarnings warnings) {
        Kernel forced = override();
        if (forced != null) {
            return forced;
        }
        return switch (resolution(feature)) {
            case REAL -> real();
            case SIMULATED -> simulated();
            case SIMULATED_WITH_WARNING -> {
                warnings.warnOnce(feature.status());
                yield simulated();
            }
            case FAILS -> throw new FeatureUnavailableException(feature.status(), Binding.configuredExplicitly()
                    ? "-D" + Binding.PROPERTY + "=" + Binding.configured().id() + " names a real binding, so kdirect"
                            + " does not fall back to its simulated kernel"
                    : "-D" + Fallback.PROPERTY + "=fail: kdirect does not fall back to its simulated kernel");
        };
    }

    /** What {@link #forFeature} does for {@code feature} now (probing it on first call), without doing it. */
    static FeatureResolution resolution(Feature feature) {
        Kernel forced = override();
        if (forced != null) {
            return forced.binding().isReal() ? FeatureResolution.REAL : FeatureResolution.SIMULATED;
        }
        if (!Binding.configured().isReal()) {
            return FeatureResolution.SIMULATED;
        }
        if (feature.isAvailable()) {
            return FeatureResolution.REAL;
        }
        if (Binding.configuredExplicitly()) {
            return FeatureResolution.FAILS;
        }
        return switch (Fallback.configured()) {
            case SIMULATE -> FeatureResolution.SIMULATED;
            case WARN -> FeatureResolution.SIMULATED_WITH_WARNING;
            case FAIL -> FeatureResolution.FAILS;
        };
    }

    /** The kernel for calls every Linux has (memory, files): the configured binding. */
    public static Kernel system() {
        Kernel forced = override();
        if (forced != null) {
            return forced;
        }
        return of(Binding.configured());
    }

    /** The configured real binding (FFM unless {@code -Dkdirect.binding=jna}); FFM when forced to simulated. */
    public static Kernel real() {
        return Binding.configured() == Binding.JNA ? jna() : ffm();
    }

    /** The kernel of one binding. */
    public static Kernel of(Binding binding) {
        return switch (binding) {
            case FFM -> ffm();
            case JNA -> jna();
            case SIMULATED -> simulated();
        };
    }

    /** The real kernel through Panama FFM. */
    public static Kernel ffm() {
        if (FfmHolder.DENIED != null) {
            throw NativeAccess.denied(FfmHolder.DENIED);
        }
        return FfmHolder.KERNEL;
    }

    /**
     * The real kernel through JNA.
     *
     * @throws IllegalStateException if JNA's native library cannot be loaded on this host
     */
    public static Kernel jna() {
        try {
            return JnaHolder.KERNEL;
        } catch (LinkageError e) {
            throw new IllegalStateException("JNA cannot load its native library: " + e.getMessage()
                    + "; use -Dkdirect.binding=ffm", e);
        }
    }

    /**
     * The JVM-wide simulated kernel: one simulated process whose credentials are this process's, with the DAX
     * mounts named by {@code -Dkdirect.simulated.dax}.
     */
    public static Kernel simulated() {
        return SimulatedHolder.KERNEL;
    }

    /**
     * A fresh simulated kernel like {@link #simulated()} (this process's credentials, the DAX mounts of
     * {@code -Dkdirect.simulated.dax}) with its own memory map, descriptors, keys and connections.
     */
    public static Kernel newSimulated() {
        return newSimulated(Credentials.ofCurrentProcess(), SimulatedHolder.daxMountsFromProperty());
    }

    /** A fresh simulated kernel (its own memory map, descriptors and keys) for the given identity. */
    public static Kernel newSimulated(Credentials credentials, List<Path> daxMounts) {
        return new BackendKernel(new SimulatedBackend(credentials, daxMounts));
    }

    /**
     * A fresh simulated kernel that follows {@code release}'s rules where kernel releases differ (the others follow
     * the running kernel's release): for tests that pin the behaviour of one release.
     */
    public static Kernel newSimulated(Credentials credentials, List<Path> daxMounts, KernelRelease release) {
        return new BackendKernel(new SimulatedBackend(credentials, daxMounts, release));
    }

    /**
     * Makes {@link #forFeature} and {@link #system} return {@code kernel} in every thread until
     * {@link #clearOverride()}: for tests that run one at a time. Parallel tests use
     * {@link #overrideForThread} (as {@code dev.kdirect.testing.ForceSimulatedKernel} does).
     */
    public static void overrideForTesting(Kernel kernel) {
        override = kernel;
    }

    /** Undoes {@link #overrideForTesting}. */
    public static void clearOverride() {
        override = null;
    }

    /**
     * Makes {@link #forFeature} and {@link #system} return {@code kernel} in this thread, and in threads it
     * starts while the scope is open, until the scope is closed (taking precedence over
     * {@link #overrideForTesting}). For tests: each test of a parallel run can have its own simulated kernel
     * ({@code dev.kdirect.testing.ForceSimulatedKernel} opens one per test).
     */
    public static Scope overrideForThread(Kernel kernel) {
        Scope scope = new Scope(kernel, THREAD_OVERRIDE.get());
        THREAD_OVERRIDE.set(scope);
        return scope;
    }

    /**
     * A kernel put in place by {@link #overrideForThread}. Closing it restores the opening thread's previous
     * override; threads that inherited the scope stop seeing it, so a pooled thread started during a test does
     * not keep the test's kernel.
     */
    public static final class Scope implements AutoCloseable {
        private final Kernel kernel;
        private final Scope previous;
        private volatile boolean open = true;

        private Scope(Kernel kernel, Scope previous) {
            this.kernel = java.util.Objects.requireNonNull(kernel, "kernel");
            this.previous = previous;
        }

        /** The kernel in place. */
        public Kernel kernel() {
            return kernel;
        }

        /** Ends the scope, in every thread; the thread that opened it gets its previous override back. */
        @Override
        public void close() {
            open = false;
            if (THREAD_OVERRIDE.get() != this) {
                return; // closed from another thread (JUnit may run a class's afterAll elsewhere)
            }
            if (previous == null) {
                THREAD_OVERRIDE.remove();
            } else {
                THREAD_OVERRIDE.set(previous);
            }
        }
    }

    private static Kernel override() {
        for (Scope scope = THREAD_OVERRIDE.get(); scope != null; scope = scope.previous) {
            if (scope.open) {
                return scope.kernel;
            }
        }
        return override;
    }

    private static final class FfmHolder {
        static final Kernel KERNEL;
        /** Why the JVM refused to link the downcalls (no --enable-native-access for this module), or null. */
        static final IllegalCallerException DENIED;

        static {
            Kernel kernel = null;
            IllegalCallerException denied = null;
            try {
                kernel = new BackendKernel(new FfmBackend());
            } catch (IllegalCallerException e) {
                denied = e;
            } catch (ExceptionInInitializerError e) {
                if (!(e.getCause() instanceof IllegalCallerException cause)) {
                    throw e;
                }
                denied = cause;
            }
            KERNEL = kernel;
            DENIED = denied;
        }
    }

    private static final class JnaHolder {
        static final Kernel KERNEL = new BackendKernel(new JnaBackend());
    }

    private static final class SimulatedHolder {
        static final Kernel KERNEL = newSimulated();

        static List<Path> daxMountsFromProperty() {
            String list = System.getProperty(SIMULATED_DAX_PROPERTY, "");
            return Arrays.stream(list.split(java.io.File.pathSeparator)).filter(s -> !s.isBlank()).map(Path::of)
                    .toList();
        }
    }
}
