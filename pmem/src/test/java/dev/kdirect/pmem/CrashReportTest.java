package dev.kdirect.pmem;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/** What a crash report prints: the counts, and at most 16 offsets of each kind in hex. */
class CrashReportTest {

    private static List<Long> words(int count) {
        return LongStream.range(0, count).map(i -> i * Long.BYTES).boxed().toList();
    }

    @Test
    void aCleanReportSaysOnlyHowManyImagesItChecked() {
        assertThat(new CrashReport(3, 7, List.of(), List.of(), List.of(), DamageReport.NONE))
                .hasToString("7 crash images at 3 crash points: 0 failed");
    }

    @Test
    void sixteenOffsetsArePrintedInFullAndMoreAreCut() {
        CrashReport.Failure failure = new CrashReport.Failure(1, "before fence 1", "word 0x0: old", null);
        DamageReport damage = new DamageReport(2, 1, 0, 1, 0, Map.of("bit flip", 2L), List.of());
        CrashReport report = new CrashReport(3, 7, List.of(failure), words(16), words(17), damage);
        String sixteen = "0x0, 0x8, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38, 0x40, 0x48, 0x50, 0x58, 0x60, 0x68, 0x70, 0x78";
        assertThat(report).hasToString("7 crash images at 3 crash points: 1 failed, missing flushes at " + sixteen
                + ", redundant flushes of lines " + sixteen + ", ...; 2 damaged images: 1 accepted, 0 refused and"
                + " salvaged, 1 refused with nothing to salvage, 0 acknowledged items lost (counted), 0 failed");
    }
}
