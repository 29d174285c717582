package dev.kdirect;

import java.util.Locale;

/**
 * What {@link Kernels#forFeature} does when a feature's probe failed on the real kernel. Chosen with
 * {@code -Dkdirect.fallback=simulate|warn|fail} (the launcher maps {@code KDIRECT_FALLBACK} to it); {@link #WARN}
 * is the default. An explicit real binding ({@code -Dkdirect.binding=ffm} or {@code jna}) means real or fail
 * whatever this says.
 */
public enum Fallback {
    /** Use the simulated kernel and say nothing: for demos and tests. */
    SIMULATE,
    /**
     * Use the simulated kernel, and on the first use for each feature log one WARNING (System.Logger
     * {@code dev.kdirect}) naming the feature, why it is not real and how to make it real.
     */
    WARN,
    /** Throw {@link FeatureUnavailableException}: for production, where a simulated security feature is a hole. */
    FAIL;

    /** The system property that selects the fallback. */
    public static final String PROPERTY = "kdirect.fallback";

    /** The lower-case name used by the property. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The fallback named by {@code -Dkdirect.fallback}, {@link #WARN} when unset. */
    public static Fallback configured() {
        return parse(System.getProperty(PROPERTY, "warn"));
    }

    /**
     * Parses {@code simulate}, {@code warn} or {@code fail} (any case).
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static Fallback parse(String id) {
        for (Fallback f : values()) {
            if (f.id().equalsIgnoreCase(id.trim())) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown kdirect fallback '" + id
                + "': use simulate, warn or fail (-D" + PROPERTY + " or KDIRECT_FALLBACK)");
    }
}
