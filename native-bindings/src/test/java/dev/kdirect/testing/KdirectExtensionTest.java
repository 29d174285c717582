package dev.kdirect.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import dev.kdirect.Binding;
import dev.kdirect.Feature;
import dev.kdirect.FeatureStatus;
import dev.kdirect.Kernels;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.EngineExecutionResults;

/** The JUnit extension, run through the JUnit engine the way a user's build would run it. */
class KdirectExtensionTest {

    @AfterEach
    void clearRequirement() {
        System.clearProperty(RequiredFeatures.PROPERTY);
    }

    @Test
    void aTestNeedingAMissingFeatureIsSkippedUnlessRequiredThenFailed() {
        boolean kexecReal = Feature.KEXEC_FILE_LOAD.isAvailable();

        EngineExecutionResults free = run(NeedsKexec.class);
        System.setProperty(RequiredFeatures.PROPERTY, "kexec");
        EngineExecutionResults required = run(NeedsKexec.class);

        if (kexecReal) {
            free.testEvents().assertStatistics(s -> s.succeeded(1));
            required.testEvents().assertStatistics(s -> s.succeeded(1));
        } else {
            free.containerEvents().assertStatistics(s -> s.skipped(1)); // the class is disabled
            String reason = free.containerEvents().skipped().list().getFirst().getPayload(String.class).orElseThrow();
            FeatureStatus status = Feature.KEXEC_FILE_LOAD.status();
            assertThat(reason).contains("(kexec)", status.evidence(), "To run it: " + status.action(),
                    "KDIRECT_REQUIRE=kexec");
            free.testEvents().assertStatistics(s -> s.started(0));
            required.testEvents().assertStatistics(s -> s.failed(1).succeeded(0));
        }
    }

    @Test
    void forcingTheSimulatedKernelAppliesToTheClassOnly() {
        run(ForcedSimulated.class).testEvents().assertStatistics(s -> s.succeeded(1).failed(0));
        assertThat(Kernels.system().binding()).isEqualTo(Binding.configured());
    }

    @Test
    void requiredFeaturesParseIdsAndAll() {
        System.setProperty(RequiredFeatures.PROPERTY, "pkeys, dax-pmem");
        assertThat(RequiredFeatures.get()).containsExactlyInAnyOrder(Feature.PKEYS, Feature.DAX_PMEM);
        System.setProperty(RequiredFeatures.PROPERTY, "all");
        assertThat(RequiredFeatures.get()).containsExactlyInAnyOrder(Feature.values());
    }

    private static EngineExecutionResults run(Class<?> testClass) {
        return EngineTestKit.engine("junit-jupiter").selectors(selectClass(testClass)).execute();
    }

    @RequiresRealKernel(Feature.KEXEC_FILE_LOAD)
    static class NeedsKexec {
        @Test
        void usesKexec() {
            assertThat(Kernels.forFeature(Feature.KEXEC_FILE_LOAD).binding().isReal()).isTrue();
        }
    }

    @ForceSimulatedKernel
    static class ForcedSimulated {
        @Test
        void runsOnTheSimulatedKernel() {
            assertThat(Kernels.system().binding()).isEqualTo(Binding.SIMULATED);
            assertThat(Kernels.forFeature(Feature.TCP_REPAIR).binding()).isEqualTo(Binding.SIMULATED);
        }
    }
}
