package dev.kdirect.pmem;

import java.util.List;
import java.util.Map;

/**
 * What recovery made of the {@link CrashTester}'s media-damage images.
 *
 * @param images how many damaged images recovery ran on
 * @param accepted images recovery accepted
 * @param salvaged images recovery refused, from which salvage read at least one record
 * @param refused images recovery refused with nothing to salvage
 * @param lost acknowledged items missing, summed over all images (each counted by the program's check)
 * @param imagesByKind how many images each kind of damage made
 * @param failures images on which the program's check failed: it accepted something damaged, lost an
 *     acknowledged item without counting it, or threw
 */
public record DamageReport(long images, long accepted, long salvaged, long refused, long lost,
        Map<String, Long> imagesByKind, List<CrashReport.Failure> failures) {

    static final DamageReport NONE = new DamageReport(0, 0, 0, 0, 0, Map.of(), List.of());

    /** What the program's check made of one damaged image. */
    public enum Verdict { ACCEPTED, SALVAGED, REFUSED }

    /**
     * One image's outcome.
     *
     * @param lost acknowledged items the program could not give back (counted, reported)
     */
    public record Outcome(Verdict verdict, long lost) {
    }

    @Override
    public String toString() {
        return images + " damaged images: " + accepted + " accepted, " + salvaged + " refused and salvaged, " + refused
                + " refused with nothing to salvage, " + lost + " acknowledged items lost (counted), "
                + failures.size() + " failed";
    }
}
