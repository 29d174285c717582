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
 * {@code -Dkdirect.binding}) when the feature's probe found it working, otherwise the simulated kernel, so the
 * same code runs on any host. {@code -Dkdirect.binding=simulated} forces the simulated kernel everywhere, so
 * the fallback can be tested on a capable host too. Backends are created on first use, never in a static
 * initialiser of this class.
 */
public final class Kernels {
    /** A path list of directories the simulated kernel treats as mounted with {@code -o dax}. */
    public static final String SIMULATED_DAX_PROPERTY = "kdirect.simulated.dax";

    private static volatile Kernel override;

    private Kernels() {
    }

    /** The kernel for a feature: real when its probe passed and the binding is not forced to simulated. */
    public static Kernel forFeature(Feature feature) {
        Kernel forced = override;
        if (forced != null) {
            return forced;
        }
        if (!Binding.configured().isReal()) {
            return simulated();
        }
        return feature.isAvailable() ? real() : simulated();
    }

    /** The kernel for calls every Linux has (memory, files): the configured binding. */
    public static Kernel system() {
        Kernel forced = override;
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

    /** A fresh simulated kernel (its own memory map, descriptors and keys) for the given identity. */
    public static Kernel newSimulated(Credentials credentials, List<Path> daxMounts) {
        return new BackendKernel(new SimulatedBackend(credentials, daxMounts));
    }

    /**
     * Makes {@link #forFeature} and {@link #system} return {@code kernel} until {@link #clearOverride()}: for
     * tests (see {@code dev.kdirect.testing.ForceSimulatedKernel}).
     */
    public static void overrideForTesting(Kernel kernel) {
        override = kernel;
    }

    /** Undoes {@link #overrideForTesting}. */
    public static void clearOverride() {
        override = null;
    }

    private static final class FfmHolder {
        static final Kernel KERNEL = new BackendKernel(new FfmBackend());
    }

    private static final class JnaHolder {
        static final Kernel KERNEL = new BackendKernel(new JnaBackend());
    }

    private static final class SimulatedHolder {
        static final Kernel KERNEL = newSimulated(Credentials.ofCurrentProcess(), daxMountsFromProperty());

        private static List<Path> daxMountsFromProperty() {
            String list = System.getProperty(SIMULATED_DAX_PROPERTY, "");
            return Arrays.stream(list.split(java.io.File.pathSeparator)).filter(s -> !s.isBlank()).map(Path::of)
                    .toList();
        }
    }
}
