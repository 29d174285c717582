package dev.kdirect;

/**
 * What {@link Kernels#forFeature} does for a feature under the configured binding and {@link Fallback}: see
 * {@link Feature#resolution()}.
 */
public enum FeatureResolution {
    /** The real kernel, through the configured binding. */
    REAL,
    /**
     * The simulated kernel, silently: the binding is forced to simulated, the fallback is {@link Fallback#SIMULATE},
     * or a test put a kernel in place ({@code dev.kdirect.testing.ForceSimulatedKernel}).
     */
    SIMULATED,
    /** The simulated kernel, with one WARNING for the feature on its first use ({@link Fallback#WARN}). */
    SIMULATED_WITH_WARNING,
    /**
     * {@link FeatureUnavailableException}: the feature is not real here and the fallback is {@link Fallback#FAIL}
     * or the real binding was named explicitly.
     */
    FAILS;

    /** True when the feature runs on the simulated kernel. */
    public boolean isSimulated() {
        return this == SIMULATED || this == SIMULATED_WITH_WARNING;
    }
}
