package dev.kdirect.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Binding;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelRelease;
import dev.kdirect.contract.ContractKernels;
import dev.kdirect.testing.RequiresRealKernel;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The kexec differential fuzzer ({@link KexecFuzzer}): {@link Differential#PROGRAMS} random programs on the real
 * kernel (the QEMU guest: the host's kernel lacks CONFIG_KEXEC_FILE) and the simulated one, call by call. Runs in
 * this JVM: kexec's state is the kernel's, not the process's, and each program's world unloads both slots.
 */
@RequiresRealKernel
class KexecFuzzTest {
    @TempDir
    Path dir;

    @Test
    void theModelAnswersEveryRandomProgramAsTheKernelDoes() throws Exception {
        Kernel real = ContractKernels.kernel(Binding.FFM, Feature.KEXEC_FILE_LOAD);
        KexecFuzzer fuzzer = new KexecFuzzer();
        FuzzReport report = Differential.run(fuzzer, real, Differential.SEED, Differential.PROGRAMS, dir, System.out);
        System.out.println("kexec load outcomes on the real kernel: " + fuzzer.realLoadOutcomes());
        assertThat(report.disagreements()).as(report.summary()).isEmpty();
        assertThat(report.refusedPrograms()).as("programs the model refused: %s", report.refused())
                .isLessThan(report.programs() / 20);
        // the programs reach every stage: loads that succeed, the probe, the command line and placement checks,
        // the descriptors' reads, the initrd's and the command line's copy
        assertThat(fuzzer.realLoadOutcomes()).as("load outcomes").containsKeys("ok", "ENOEXEC", "EINVAL",
                "EADDRNOTAVAIL", "EBADF", "ETXTBSY", "EFAULT");
        assertThat(fuzzer.realLoadOutcomes().get("ok")).isGreaterThan(report.programs() / 10);
    }

    /**
     * Everywhere: the programs run on the model without a JDK exception escaping it (on the "real" side one fails the
     * run as a bug) and the model refuses few of them, for the running release and each release the model's kexec
     * rules name (6.1 and 6.12). Where kexec is real the test above covers the running release with every program,
     * so here a tenth of them run (a skip would count against the guest's ceiling of none).
     */
    @ParameterizedTest
    @ValueSource(strings = {"running", "6.1.0-57-amd64", "6.12.95+deb12-amd64"})
    void theModelRunsEveryProgramWithoutAJdkExceptionAndRefusesFew(String releaseText) throws Exception {
        KernelRelease release = releaseText.equals("running") ? KernelRelease.running()
                : KernelRelease.parse(releaseText);
        int programs = Feature.KEXEC_FILE_LOAD.isAvailable() ? Differential.PROGRAMS / 10 : Differential.PROGRAMS;
        FuzzReport report = Differential.run(new KexecFuzzer(release), new KexecFuzzer(release).model(),
                Differential.SEED, programs, dir, System.out);
        assertThat(report.disagreements()).as(report.summary()).isEmpty();
        assertThat(report.refusedPrograms()).as("programs the model refused: %s", report.refused())
                .isLessThan(Math.max(1, report.programs() / 20));
    }
}
