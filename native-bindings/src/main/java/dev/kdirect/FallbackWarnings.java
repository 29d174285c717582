package dev.kdirect;

import java.lang.System.Logger.Level;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** The one WARNING per feature that {@link Fallback#WARN} logs on the feature's first simulated use. */
final class FallbackWarnings {
    /** The System.Logger kdirect logs through. */
    static final String LOGGER = "dev.kdirect";

    private final System.Logger logger;
    private final Set<Feature> warned = ConcurrentHashMap.newKeySet();

    FallbackWarnings(System.Logger logger) {
        this.logger = logger;
    }

    /** Logs the warning for {@code status}'s feature unless it was logged before. */
    void warnOnce(FeatureStatus status) {
        if (warned.add(status.feature())) {
            logger.log(Level.WARNING, message(status));
        }
    }

    static String message(FeatureStatus status) {
        Feature f = status.feature();
        return f.title() + " (" + f.id() + ") runs on kdirect's SIMULATED kernel, a model without the real kernel's"
                + " enforcement: " + status.evidence() + (status.action().isEmpty() ? "" : ". To make it real: "
                + status.action()) + ". To refuse the fallback: -D" + Fallback.PROPERTY + "=fail (KDIRECT_FALLBACK=fail);"
                + " to accept it silently: -D" + Fallback.PROPERTY + "=simulate";
    }
}
