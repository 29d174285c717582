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

/**
 * {@link TcpRepairFuzzer}'s programs on the real kernel and the model: no disagreement, and programs that reach what
 * they are for (most run to their end, the repair rules' errnos occur, data crosses).
 */
@RequiresRealKernel(Feature.TCP_REPAIR)
class TcpRepairFuzzTest {
    @TempDir
    Path dir;

    @Test
    void realKernelAndModelAgreeOnRandomRepairPrograms() throws Exception {
        Kernel real = ContractKernels.kernel(Binding.FFM, Feature.TCP_REPAIR);
        FuzzReport report = Differential.run(new TcpRepairFuzzer(), real, Differential.SEED, Differential.PROGRAMS,
                dir, System.out);
        System.out.println("tcp-repair refusals: " + report.refused());
        assertThat(report.disagreements()).as("disagreements (each with its reproduction)").isEmpty();
        assertThat(report.refusedPrograms()).as("programs the model refused: %s", report.refused())
                .isLessThan(Differential.PROGRAMS / 4);
        // programs cut where the kernel's timers would decide (TcpRepairFuzzer#interference)
        assertThat(report.interfered()).isLessThan(Differential.PROGRAMS / 5);
        assertThat(report.operations()).isGreaterThan(Differential.PROGRAMS * 8L);
        // what the programs reach, counted on the model (which agreed with the kernel on every compared step)
        java.util.Map<String, Integer> outcomes = new java.util.TreeMap<>();
        TcpRepairFuzzer fuzzer = new TcpRepairFuzzer();
        for (int i = 0; i < Math.min(200, Differential.PROGRAMS); i++) {
            try (TcpRepairFuzzer.Net world = fuzzer.open(fuzzer.model(), dir)) {
                for (Step<TcpRepairFuzzer.Net> step : fuzzer.program(new java.util.Random(
                        Differential.programSeed(Differential.SEED, i)))) {
                    String outcome;
                    try {
                        outcome = step.apply(world);
                    } catch (dev.kdirect.KernelException e) {
                        outcome = e.errnoName();
                    } catch (UnsupportedOperationException e) {
                        break;
                    }
                    outcomes.merge(step.getClass().getSimpleName() + " " + outcome.replaceAll(" .*", ""), 1,
                            Integer::sum);
                }
            }
        }
        System.out.println("tcp-repair outcomes: " + outcomes);
        assertThat(outcomes).containsKeys("Repair ok", "Repair EPERM", "Repair EINVAL", "RepairQueue EPERM",
                "SetQueueSeq ok", "SetQueueSeq EPERM", "RepairOptions ok", "RepairOptions EPERM", "SetWindow ok",
                "SetWindow EINVAL", "SetTimestamp ok", "SetTimestamp EPERM", "Recv EAGAIN", "Send EPIPE",
                "Connect ok", "Close ok");
        assertThat(outcomes.keySet().stream().filter(k -> k.startsWith("Recv ") && !k.equals("Recv EAGAIN")
                && !k.equals("Recv 0") && !k.startsWith("Recv E"))).as("data received").isNotEmpty();
    }
}
