package dev.kdirect.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import dev.kdirect.Binding;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.Kernels;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Execution;
import org.junit.jupiter.api.parallel.ExecutionMode;
import org.junit.platform.testkit.engine.EngineTestKit;

/**
 * {@link ForceSimulatedKernel} under JUnit's parallel execution, enabled for {@link EightAtOnce} only (through the
 * engine's configuration here, not junit-platform.properties): eight tests that all run at the same time each
 * see a simulated kernel of their own.
 */
class ParallelSimulatedKernelsTest {
    static final int TESTS = 8;

    @Test
    void eightConcurrentTestsEachGetTheirOwnSimulatedKernel() {
        EightAtOnce.kernels.clear();
        EightAtOnce.barrier = new CyclicBarrier(TESTS);

        EngineTestKit.engine("junit-jupiter").selectors(selectClass(EightAtOnce.class))
                .configurationParameter("junit.jupiter.execution.parallel.enabled", "true")
                .configurationParameter("junit.jupiter.execution.parallel.config.strategy", "fixed")
                .configurationParameter("junit.jupiter.execution.parallel.config.fixed.parallelism",
                        String.valueOf(TESTS))
                .execute().testEvents().assertStatistics(s -> s.started(TESTS).succeeded(TESTS));

        assertThat(EightAtOnce.kernels).hasSize(TESTS);
        assertThat(Kernels.system().binding()).as("no override left in this thread").isEqualTo(Binding.configured());
    }

    @Test
    @ForceSimulatedKernel
    void onAMethodTheTestGetsAFreshKernelThatThreadsItStartsShare(Kernel kernel) throws Exception {
        assertThat(kernel).isNotSameAs(Kernels.simulated());
        assertThat(Kernels.forFeature(Feature.PKEYS)).isSameAs(kernel);
        AtomicReference<Kernel> seen = new AtomicReference<>();
        Thread thread = Thread.ofPlatform().start(() -> seen.set(Kernels.system()));
        thread.join();
        assertThat(seen.get()).isSameAs(kernel);
    }

    @Test
    void aThreadStartedDuringAForcedTestStopsSeeingItsKernelWhenTheTestEnds() throws Exception {
        Kernel kernel = Kernels.newSimulated();
        AtomicReference<Kernel> after = new AtomicReference<>();
        CyclicBarrier ended = new CyclicBarrier(2);
        Thread pooled;
        try (Kernels.Scope ignored = Kernels.overrideForThread(kernel)) {
            pooled = Thread.ofPlatform().start(() -> {
                try {
                    ended.await(60, TimeUnit.SECONDS);
                    after.set(Kernels.system());
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
        }
        ended.await(60, TimeUnit.SECONDS);
        pooled.join();
        assertThat(after.get()).isNotSameAs(kernel);
        assertThat(Kernels.system()).isNotSameAs(kernel);
    }

    /** Run by the test above with parallel execution enabled; alone (without it) the barrier would time out. */
    @ForceSimulatedKernel
    @Execution(ExecutionMode.CONCURRENT)
    static class EightAtOnce {
        static final Set<Kernel> kernels = ConcurrentHashMap.newKeySet();
        static volatile CyclicBarrier barrier;

        @RepeatedTest(TESTS)
        void hasItsOwnKernel(Kernel kernel) throws Exception {
            assertThat(Kernels.forFeature(Feature.PKEYS)).isSameAs(kernel);
            // A fresh process's first key is 1: key 0 is pre-allocated as the default key and mm_pkey_alloc
            // takes the lowest free bit (arch/x86/include/asm/pkeys.h, 6.1); on a shared kernel only one test
            // would get it.
            assertThat(allocateKey(kernel)).isEqualTo(1);
            kernels.add(kernel);

            barrier.await(60, TimeUnit.SECONDS); // all eight are running now

            assertThat(kernels).hasSize(TESTS);
            assertThat(Kernels.forFeature(Feature.TCP_REPAIR)).isSameAs(kernel);
            assertThat(allocateKey(kernel)).isEqualTo(2);
        }

        private static int allocateKey(Kernel kernel) throws KernelException {
            return kernel.pkeyAlloc(0, 0);
        }
    }
}
