package dev.kdirect.testing;

import dev.kdirect.Feature;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;

/**
 * The features that must be real in this place: {@code -Dkdirect.require} or else {@code KDIRECT_REQUIRE}, a
 * comma-separated list of feature ids or {@code all}. CI sets it per place (host, QEMU guest).
 */
public final class RequiredFeatures {
    /** The system property. */
    public static final String PROPERTY = "kdirect.require";
    /** The environment variable. */
    public static final String ENV = "KDIRECT_REQUIRE";

    private RequiredFeatures() {
    }

    /** The required set; empty when nothing is required. */
    public static Set<Feature> get() {
        String value = System.getProperty(PROPERTY, System.getenv().getOrDefault(ENV, "")).trim();
        if (value.isEmpty()) {
            return EnumSet.noneOf(Feature.class);
        }
        if (value.equals("all")) {
            return EnumSet.allOf(Feature.class);
        }
        EnumSet<Feature> set = EnumSet.noneOf(Feature.class);
        Arrays.stream(value.split(",")).filter(s -> !s.isBlank()).map(Feature::parse).forEach(set::add);
        return set;
    }
}
