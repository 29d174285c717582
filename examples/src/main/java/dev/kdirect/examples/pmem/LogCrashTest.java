package dev.kdirect.examples.pmem;

import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import dev.kdirect.pmem.CrashReport;
import dev.kdirect.pmem.CrashTester;
import dev.kdirect.pmem.Damage;
import dev.kdirect.pmem.DamageReport;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The pmem log under the crash tester: appends records on the simulated persistent memory, and at every crash
 * point checks each post-crash image: recovery must accept it, keep every acknowledged record, and return only
 * records that were written (no torn record accepted). Then media damage: each damaged image must be refused
 * (salvage then returns only records that were written) or accepted with only records that were written, and an
 * acknowledged record missing from an accepted image only where recovery said it fell back to the older commit.
 */
public final class LogCrashTest {
    private static final int REGION = 64 * 1024;

    /**
     * @param report the tester's report, its damage part included
     * @param lostAcknowledged crash images in which an acknowledged record was missing
     * @param tornAccepted crash images in which recovery returned a record that was never written whole
     * @param damagedAccepted damaged images in which recovery or salvage returned a record that was never written
     */
    public record Result(CrashReport report, long lostAcknowledged, long tornAccepted, long damagedAccepted) {
    }

    private LogCrashTest() {
    }

    /**
     * Runs {@code records} appends and checks the crash images of every crash point (two per append, two while
     * formatting, the end): all of a point's images where the tester enumerates them, else {@code samples} random
     * ones; then {@code damageImages} media-damage images.
     */
    public static Result run(int samples, int damageImages, int records, long seed) throws Exception {
        long[] lost = {0};
        long[] torn = {0};
        long[] damaged = {0};
        Map<String, Damage> logDamage = new LinkedHashMap<>();
        logDamage.put("torn commit slot", LogCrashTest::tearNewestSlot);
        logDamage.put("moved end pointer", LogCrashTest::moveEnd);
        CrashReport report = CrashTester.forRegion(REGION).samplesPerPoint(samples).seed(seed)
                .damageImages(damageImages, logDamage).run((region, acks) -> {
                    PmemLog log = PmemLog.open(region);
                    for (int i = 0; i < records; i++) {
                        log.append(payload(i));
                        acks.add(i);
                    }
                }, (image, acknowledged) -> {
                    List<byte[]> recovered = PmemLog.recover(image).records();
                    if (!written(recovered)) {
                        torn[0]++;
                        throw new AssertionError("a record recovered with content that was never written");
                    }
                    if (recovered.size() < acknowledged.size()) {
                        lost[0]++;
                        throw new AssertionError("acknowledged record " + recovered.size() + " is missing");
                    }
                }, (image, acknowledged) -> {
                    try {
                        PmemLog.Recovery r = PmemLog.recover(image);
                        if (!written(r.records())) {
                            damaged[0]++;
                            throw new AssertionError("a damaged record was accepted");
                        }
                        long missing = Math.max(0, acknowledged.size() - r.records().size());
                        if (r.blank()) { // zeroed from the header to the end: no log is left to read
                            return new DamageReport.Outcome(DamageReport.Verdict.REFUSED, missing);
                        }
                        if (missing > 0 && !(r.fellBack() && missing == 1)) {
                            throw new AssertionError(missing + " acknowledged records missing, and recovery did not"
                                    + " say it fell back to the older commit");
                        }
                        return new DamageReport.Outcome(DamageReport.Verdict.ACCEPTED, missing);
                    } catch (DamagedLogException refused) {
                        PmemLog.Salvage s = PmemLog.salvage(image);
                        for (PmemLog.SalvagedRecord r : s.records()) {
                            if (!Arrays.equals(r.payload(), payload(r.sequence()))) {
                                damaged[0]++;
                                throw new AssertionError("salvage returned record " + r.sequence() + " at offset "
                                        + r.offset() + ", which was never written");
                            }
                        }
                        long kept = s.records().stream().filter(r -> r.sequence() < acknowledged.size()).count();
                        return new DamageReport.Outcome(s.records().isEmpty() ? DamageReport.Verdict.REFUSED
                                : DamageReport.Verdict.SALVAGED, acknowledged.size() - kept);
                    }
                });
        return new Result(report, lost[0], torn[0], damaged[0]);
    }

    /** Record i: sizes vary from 5 to about 200 bytes, so records straddle cache lines in every way. */
    static byte[] payload(long i) {
        return ("record " + i + " " + "x".repeat((int) (i * 37 % 190))).getBytes(StandardCharsets.US_ASCII);
    }

    private static boolean written(List<byte[]> records) {
        for (int i = 0; i < records.size(); i++) {
            if (!Arrays.equals(records.get(i), payload(i))) {
                return false;
            }
        }
        return true;
    }

    /** The slot holding the newest commit (the higher sequence number). */
    static long newestSlot(MemorySegment image) {
        long[] slots = PmemLog.SLOTS;
        return image.get(JAVA_LONG_UNALIGNED, slots[1]) > image.get(JAVA_LONG_UNALIGNED, slots[0]) ? slots[1] : slots[0];
    }

    /** Some of the newest slot's four words, not all, hold the other slot's (older) values: a torn update. */
    static String tearNewestSlot(MemorySegment image, long used, java.util.Random random) {
        long slot = newestSlot(image);
        long other = slot == PmemLog.SLOTS[0] ? PmemLog.SLOTS[1] : PmemLog.SLOTS[0];
        int stale = 1 + random.nextInt(14); // a non-empty proper subset of the 4 words
        for (int w = 0; w < 4; w++) {
            if ((stale & 1 << w) != 0) {
                image.set(JAVA_LONG_UNALIGNED, slot + 8 * w, image.get(JAVA_LONG_UNALIGNED, other + 8 * w));
            }
        }
        return "words " + Integer.toBinaryString(stale) + " (bit mask) of the slot at " + slot + " stale";
    }

    /** The newest slot's committed end moved by 8 to 256 bytes, forward or back. */
    static String moveEnd(MemorySegment image, long used, java.util.Random random) {
        long at = newestSlot(image) + 8;
        long by = 8L * (1 + random.nextInt(32)) * (random.nextBoolean() ? 1 : -1);
        image.set(JAVA_LONG_UNALIGNED, at, image.get(JAVA_LONG_UNALIGNED, at) + by);
        return "the end at " + at + " moved by " + by;
    }
}
