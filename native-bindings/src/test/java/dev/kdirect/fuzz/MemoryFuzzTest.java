package dev.kdirect.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Binding;
import dev.kdirect.Feature;
import dev.kdirect.contract.ContractKernels;
import dev.kdirect.testing.RequiresRealKernel;
import org.junit.jupiter.api.Test;

/**
 * {@link MemoryFuzzer}'s programs on the real kernel (where PKU is real: the QEMU guest) and on the model, in a
 * child JVM: protection keys, once taken, stay taken in a process, the execute-only key included.
 */
@RequiresRealKernel
class MemoryFuzzTest {
    @Test
    void theModelAgreesWithTheKernelOnRandomMemoryAndProtectionKeyPrograms() throws Exception {
        ContractKernels.kernel(Binding.FFM, Feature.PKEYS); // skips where PKU is not real, fails where required
        String output = FuzzInChildJvm.run(MemoryFuzzer.class);
        output.lines().filter(l -> l.startsWith("fuzz memory on ")).forEach(System.out::println); // the summary
        int programs = FuzzInChildJvm.field(output, "programs");
        assertThat(FuzzInChildJvm.field(output, "disagreements")).as(output).isZero();
        assertThat(programs).isEqualTo(Differential.PROGRAMS);
        // the programs must mostly run to their end on both kernels, not stop at a refusal or another mapping
        assertThat(FuzzInChildJvm.field(output, "refused")).as(output).isLessThan(programs / 10);
        assertThat(FuzzInChildJvm.field(output, "interfered")).as(output).isLessThan(programs / 10);
        assertThat(FuzzInChildJvm.field(output, "operations")).as(output).isGreaterThan(10 * programs);
        // and reach the kernel's errors: bad arguments, holes, copies the thread may not make, keys run out
        for (String errno : new String[] {"EINVAL", "ENOMEM", "EFAULT", "ENOSPC"}) {
            assertThat(FuzzInChildJvm.field(output, errno)).as(errno + " in " + output).isGreaterThan(programs / 100);
        }
    }
}
