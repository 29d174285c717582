package dev.kdirect.pmem;

import java.util.List;
import java.util.stream.Collectors;

/**
 * The outcome of a {@link CrashTester} run.
 *
 * @param crashPoints how many moments a power cut was simulated at
 * @param images how many post-crash images the recovery check ran on
 * @param failures the images recovery rejected or lost acknowledged data on
 * @param missingFlushes offsets of 8-byte words that held an old value in a failing image: stores that needed a
 *     flush and a fence before the acknowledgement
 * @param redundantFlushes offsets of cache lines written back with nothing new in them
 * @param damage what recovery made of the media-damage images ({@link CrashTester#damageImages}; none by default)
 */
public record CrashReport(int crashPoints, long images, List<Failure> failures, List<Long> missingFlushes,
        List<Long> redundantFlushes, DamageReport damage) {

    /** One rejected image. */
    public record Failure(int crashPoint, String label, String image, Throwable cause) {
    }

    /** True when recovery succeeded on every crash image and the damage check on every damaged one. */
    public boolean consistent() {
        return failures.isEmpty() && damage.failures().isEmpty();
    }

    /**
     * Throws an AssertionError describing the first failures and the suspect stores, for use in a test.
     */
    public void assertConsistent() {
        if (!damage.failures().isEmpty()) {
            Failure first = damage.failures().get(0);
            throw new AssertionError(damage + "; first: " + first.image() + " at crash point " + first.crashPoint()
                    + " (" + first.label() + "): " + first.cause(), first.cause());
        }
        if (!failures.isEmpty()) {
            throw new AssertionError(failures.size() + " of " + images + " crash images failed recovery; words not"
                    + " persisted in them: " + hex(missingFlushes) + "; first: crash point " + failures.get(0).crashPoint()
                    + " (" + failures.get(0).label() + "): " + failures.get(0).cause() + " with "
                    + failures.get(0).image(), failures.get(0).cause());
        }
    }

    @Override
    public String toString() {
        return images + " crash images at " + crashPoints + " crash points: " + failures.size() + " failed"
                + (missingFlushes.isEmpty() ? "" : ", missing flushes at " + hex(missingFlushes))
                + (redundantFlushes.isEmpty() ? "" : ", redundant flushes of lines " + hex(redundantFlushes))
                + (damage.images() == 0 ? "" : "; " + damage);
    }

    private static String hex(List<Long> offsets) {
        return offsets.stream().limit(16).map(o -> "0x" + Long.toHexString(o)).collect(Collectors.joining(", "))
                + (offsets.size() > 16 ? ", ..." : "");
    }
}
