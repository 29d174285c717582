package dev.kdirect.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Binding;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.contract.ContractKernels;
import dev.kdirect.testing.RequiresRealKernel;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link PmemFuzzer}'s programs on the real DAX file system and on the model: they must agree call by call. */
@RequiresRealKernel
class PmemFuzzTest {
    @TempDir
    Path dir;

    @Test
    void theModelAgreesWithTheKernelOnRandomFileAndMappingPrograms() throws Exception {
        Kernel real = ContractKernels.kernel(Binding.FFM, Feature.DAX_PMEM);
        FuzzReport report = Differential.run(new PmemFuzzer(), real, Differential.SEED, Differential.PROGRAMS, dir,
                System.out);
        System.out.println(report.toJson()); // the refusals by rule, the errnos reached
        assertThat(report.disagreements()).as(report.summary()).isEmpty();
        assertThat(report.refusedPrograms()).as("programs the model refused: %s", report.refused())
                .isLessThan(report.programs() / 4);
        assertThat(report.operations()).as("calls compared").isGreaterThan(10L * report.programs());
        assertThat(report.errnos()).as("errnos the programs reached").containsKeys("EINVAL", "EBADF", "EACCES",
                "EOPNOTSUPP");
    }
}
