package dev.kdirect.examples.pmem;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.pmem.DamageReport;
import org.junit.jupiter.api.Test;

/**
 * The pmem log survives at least 10,000 simulated crash images with nothing lost and nothing torn accepted, and
 * 10,000 media-damage images with nothing damaged accepted, in one report.
 */
class LogCrashTestTest {

    @Test
    void tenThousandCrashAndTenThousandDamageImagesAcceptNothingTornOrDamaged() throws Exception {
        // 98 random images at each of the 103 crash points that have too many to check all
        LogCrashTest.Result result = LogCrashTest.run(98, 10_000, 50, 20261201);
        assertThat(result.report().images()).isGreaterThanOrEqualTo(10_000);
        assertThat(result.lostAcknowledged()).isZero();
        assertThat(result.tornAccepted()).isZero();
        assertThat(result.damagedAccepted()).isZero();
        result.report().assertConsistent();
        assertThat(result.report().redundantFlushes()).isEmpty();
        DamageReport damage = result.report().damage();
        assertThat(damage.images()).isEqualTo(10_000);
        assertThat(damage.accepted() + damage.salvaged() + damage.refused()).isEqualTo(10_000);
        assertThat(damage.imagesByKind()).containsOnlyKeys("bit flip", "zeroed range", "zeroed tail",
                "torn commit slot", "moved end pointer");
        // every verdict occurs: damage in free space is accepted, in records refused and salvaged, and a torn or
        // moved newest commit slot falls back to the older commit with its loss counted
        assertThat(damage.accepted()).isPositive();
        assertThat(damage.salvaged()).isPositive();
        assertThat(damage.refused()).isPositive();
        assertThat(damage.lost()).isPositive();
    }
}
