package dev.kdirect.examples.pmem;

import dev.kdirect.pmem.CrashReport;
import dev.kdirect.pmem.CrashTester;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * The pmem log under the crash tester: appends records on the simulated persistent memory, and at every crash
 * point checks each post-crash image: recovery must accept it, keep every acknowledged record, and return only
 * records that were written (no torn record accepted).
 */
public final class LogCrashTest {
    private static final int REGION = 64 * 1024;

    /**
     * @param report the tester's report
     * @param lostAcknowledged images in which an acknowledged record was missing
     * @param tornAccepted images in which recovery returned a record that was never written whole
     */
    public record Result(CrashReport report, long lostAcknowledged, long tornAccepted) {
    }

    private LogCrashTest() {
    }

    /** Runs {@code records} appends and checks about {@code images} crash images (at least one per crash point). */
    public static Result run(int images, int records, long seed) throws Exception {
        int crashPoints = 2 * records + 3; // two fences per append, two while formatting, the end
        int samples = Math.max(1, (images + crashPoints - 1) / crashPoints);
        long[] lost = {0};
        long[] torn = {0};
        CrashReport report = CrashTester.forRegion(REGION).samplesPerPoint(samples).seed(seed).run((region, acks) -> {
            PmemLog log = PmemLog.open(region);
            for (int i = 0; i < records; i++) {
                log.append(payload(i));
                acks.add(i);
            }
        }, (image, acknowledged) -> {
            List<byte[]> recovered = PmemLog.recover(image);
            for (int i = 0; i < recovered.size(); i++) {
                if (!Arrays.equals(recovered.get(i), payload(i))) {
                    torn[0]++;
                    throw new AssertionError("record " + i + " recovered with content that was never written");
                }
            }
            if (recovered.size() < acknowledged.size()) {
                lost[0]++;
                throw new AssertionError("acknowledged record " + recovered.size() + " is missing");
            }
        });
        return new Result(report, lost[0], torn[0]);
    }

    /** Record i: sizes vary from 5 to about 200 bytes, so records straddle cache lines in every way. */
    static byte[] payload(int i) {
        return ("record " + i + " " + "x".repeat((i * 37) % 190)).getBytes(StandardCharsets.US_ASCII);
    }
}
