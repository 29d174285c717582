package dev.kdirect.examples.pmem;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The pmem log survives at least 10,000 simulated crash images with nothing lost and nothing torn accepted. */
class LogCrashTestTest {

    @Test
    void tenThousandCrashImagesLoseNoAcknowledgedRecordAndAcceptNoTornOne() throws Exception {
        LogCrashTest.Result result = LogCrashTest.run(10_000, 50, 20261201);
        assertThat(result.report().images()).isGreaterThanOrEqualTo(10_000);
        assertThat(result.lostAcknowledged()).isZero();
        assertThat(result.tornAccepted()).isZero();
        result.report().assertConsistent();
        assertThat(result.report().redundantFlushes()).isEmpty();
    }
}
