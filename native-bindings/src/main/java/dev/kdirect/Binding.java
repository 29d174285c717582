package dev.kdirect;

import java.util.Locale;

/**
 * How a {@link Kernel} reaches Linux. Chosen with {@code -Dkdirect.binding=ffm|jna|simulated} (the launcher maps
 * {@code KDIRECT_BINDING} to it); {@link #FFM} is the default. A real binding given explicitly means real or fail
 * (see {@link Fallback}).
 */
public enum Binding {
    /** Panama FFM downcalls into glibc, errno captured with {@code Linker.Option.captureCallState}. */
    FFM,
    /** The same calls through JNA direct mapping: a cross-check of the FFM bindings. */
    JNA,
    /** The pure-Java model of the kernel: same calls, same order of checks, same errno, on simulated state. */
    SIMULATED;

    /** The system property that selects the binding. */
    public static final String PROPERTY = "kdirect.binding";

    /** True for the bindings that call the running kernel. */
    public boolean isReal() {
        return this != SIMULATED;
    }

    /** The lower-case name used by the property and the CLI. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The binding named by {@code -Dkdirect.binding}, {@link #FFM} when unset. */
    public static Binding configured() {
        return parse(System.getProperty(PROPERTY, "ffm"));
    }

    /**
     * True when {@code -Dkdirect.binding} is set. A real binding named explicitly means real or fail: kdirect does
     * not fall back to the simulated kernel for a feature the real kernel lacks.
     */
    public static boolean configuredExplicitly() {
        return System.getProperty(PROPERTY) != null;
    }

    /**
     * Parses {@code ffm}, {@code jna} or {@code simulated} (any case).
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static Binding parse(String id) {
        for (Binding b : values()) {
            if (b.id().equalsIgnoreCase(id.trim())) {
                return b;
            }
        }
        throw new IllegalArgumentException(
                "unknown kdirect binding '" + id + "': use ffm, jna or simulated (-D" + PROPERTY + " or KDIRECT_BINDING)");
    }
}
