package dev.kdirect.testing;

import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.kdirect.Feature;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Where CI requires features (KDIRECT_REQUIRE: on the host what its hardware has, in the QEMU guest all five),
 * each must be real: a missing one fails here with the probe's evidence and the action to take.
 */
@Tag("real-kernel")
class RequiredFeaturesAreRealTest {

    @Test
    void everyRequiredFeatureIsReal() {
        Set<Feature> required = RequiredFeatures.get();
        assumeFalse(required.isEmpty(), "no feature is required in this place (KDIRECT_REQUIRE is unset)");
        required.forEach(Feature::ensureAvailable);
    }
}
