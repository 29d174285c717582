package dev.kdirect.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Binding;
import dev.kdirect.Feature;
import dev.kdirect.contract.ContractKernels;
import dev.kdirect.testing.RequiresRealKernel;
import org.junit.jupiter.api.Test;

/**
 * {@link MemoryFailureFuzzer}'s programs on the real kernel (the guest: CONFIG_MEMORY_FAILURE, root) and on the
 * model, in a child JVM, as the frames they poison stay poisoned.
 */
@RequiresRealKernel
class MemoryFailureFuzzTest {
    @Test
    void theModelAgreesWithTheKernelOnRandomInjectionPrograms() throws Exception {
        ContractKernels.kernel(Binding.FFM, Feature.MEMORY_FAILURE); // skips where the feature is not real
        String output = FuzzInChildJvm.run(MemoryFailureFuzzer.class);
        output.lines().filter(l -> l.startsWith("fuzz")).forEach(System.out::println); // the summary and report
        int programs = FuzzInChildJvm.field(output, "programs");
        assertThat(FuzzInChildJvm.field(output, "disagreements")).as(output).isZero();
        assertThat(FuzzInChildJvm.field(output, "refused")).as(output).isLessThan(programs / 4);
        assertThat(FuzzInChildJvm.field(output, "operations")).as(output).isGreaterThan(5 * programs);
        boolean hwpoison = new MemoryFailureFuzzer().hwpoison; // not on 6.11 and later: see the fuzzer
        for (String errno : hwpoison ? new String[] {"EFAULT", "EHWPOISON", "EINVAL", "ENOMEM"}
                : new String[] {"EFAULT", "EINVAL", "ENOMEM"}) {
            assertThat(FuzzInChildJvm.field(output, errno)).as("%s in %s", errno, output).isPositive();
        }
    }
}
