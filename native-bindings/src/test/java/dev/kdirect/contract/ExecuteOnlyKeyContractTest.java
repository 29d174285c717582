package dev.kdirect.contract;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Binding;
import dev.kdirect.Feature;
import dev.kdirect.testing.RequiresRealKernel;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The execute-only key on the real kernel, in a fresh child JVM (a process that never took it), against a fresh
 * simulated process: the memory fuzzer's finding that a PROT_EXEC-only mapping takes a key, so the next pkey_alloc
 * returns the key after it.
 */
@RequiresRealKernel
class ExecuteOnlyKeyContractTest {
    @Test
    void aFirstExecuteOnlyMappingTakesTheLowestFreeKeyForGood() throws Exception {
        ContractKernels.kernel(Binding.FFM, Feature.PKEYS); // skips where PKU is not real
        Map<String, String> real = Outcomes.parse(ChildJvm.run(ExecuteOnlyKeyProgram.class, List.of(Outcomes.class),
                List.of(), 300, Binding.FFM.id()));
        Map<String, String> simulated = ExecuteOnlyKeyProgram.outcomes(ContractKernels.kernel(Binding.SIMULATED))
                .asMap();
        assertThat(simulated).isEqualTo(real);
        assertThat(real).containsEntry("lowest-free-key", "1")
                .containsEntry("rights-after-exec-only-mmap", "1")
                .containsEntry("next-key", "2")
                .containsEntry("free-the-execute-only-key", "EINVAL")
                .containsEntry("pkey-mprotect-with-it", "EINVAL")
                .containsEntry("rights-after-exec-only-mprotect", "1")
                .containsEntry("copy-from-exec-only", "EFAULT")
                .containsEntry("copy-after-exec-sem", "ok")
                .containsEntry("copy-faults-again", "EFAULT")
                .containsEntry("copy-from-key-0", "ok");
    }
}
