package dev.kdirect;

/**
 * What a feature probe found.
 *
 * @param feature the feature
 * @param real true when the real kernel provides it to this process
 * @param evidence what the probe did and saw, e.g. {@code "pkey_alloc(0, 0) returned key 1"}
 * @param action what to do to make it real; empty when it is
 * @param cause the failure that made it unavailable, or null
 */
public record FeatureStatus(Feature feature, boolean real, String evidence, String action, Throwable cause) {

    /** A working feature. */
    public static FeatureStatus real(Feature feature, String evidence) {
        return new FeatureStatus(feature, true, evidence, "", null);
    }

    /** A missing feature, with what to do about it. */
    public static FeatureStatus missing(Feature feature, String evidence, String action, Throwable cause) {
        return new FeatureStatus(feature, false, evidence, action, cause);
    }

    /** "real" or "simulated": what kdirect uses for this feature here. */
    public String mode() {
        return real ? "real" : "simulated";
    }
}
