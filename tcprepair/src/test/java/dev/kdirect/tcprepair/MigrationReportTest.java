package dev.kdirect.tcprepair;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.tcprepair.MigrationSource.Outcome;
import dev.kdirect.tcprepair.MigrationSource.Status;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A migration report counts its outcomes by status. */
class MigrationReportTest {

    @Test
    void eachStatusCountsOnlyItsOwnOutcomes() {
        MigrationSource.Report report = new MigrationSource.Report(List.of(new Outcome(0, Status.MOVED, null, null),
                new Outcome(1, Status.KEPT, null, "refused"), new Outcome(2, Status.MOVED, null, null),
                new Outcome(3, Status.LOST, null, "gone")), "the target failed", 0);
        assertThat(report.count(Status.MOVED)).isEqualTo(2);
        assertThat(report.count(Status.KEPT)).isEqualTo(1);
        assertThat(report.count(Status.LOST)).isEqualTo(1);
        assertThat(report.count(Status.RESTORED_HERE)).isZero();
    }
}
