package dev.kdirect.pmem;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kdirect.Binding;
import dev.kdirect.Credentials;
import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import dev.kdirect.MapFlags;
import dev.kdirect.Prot;
import dev.kdirect.testing.ForceSimulatedKernel;
import dev.kdirect.testing.SimulatedMachine;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link SimulatedMachine}'s damage to memory: a power cut on persistent memory, a machine check on a page. */
class MachineDamageTest {
    @TempDir
    Path dax;

    /**
     * On x86 a store to persistent memory is durable once its line is written back (CLWB) and a fence (SFENCE)
     * has ordered the write-back; until then a power failure may lose it, written back or not. The power cut is
     * the crash that loses all it may: only the fenced word is left, in memory and in the file.
     */
    @Test
    void aPowerCutLosesEveryStoreThatWasNotWrittenBackAndFenced() throws Exception {
        Kernel kernel = Kernels.newSimulated(Credentials.ofCurrentProcess(), List.of(dax));
        Path file = dax.resolve("region");
        try (PmemRegion region = PmemRegion.map(kernel, file, kernel.pageSize(), true)) {
            assertThat(region.binding()).isEqualTo(Binding.SIMULATED);
            assertThat(region.granularityReason()).startsWith("SIMULATED");
            region.putLong(0, 11L);
            region.persist(0, 8);
            region.putLong(64, 22L); // never written back
            region.putLong(128, 33L);
            region.flush(128, 8); // written back, never fenced

            SimulatedMachine.cutPower(kernel);

            assertThat(List.of(region.getLong(0), region.getLong(64), region.getLong(128))).containsExactly(11L, 0L, 0L);
        }
        ByteBuffer content = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.nativeOrder());
        assertThat(List.of(content.getLong(0), content.getLong(64), content.getLong(128))).containsExactly(11L, 0L, 0L);
    }

    /**
     * A machine check poisons the page as memory_failure() does (mm/memory-failure.c, 6.1): the next access to it
     * is a SIGBUS, which {@link MemoryFailure#guard} turns into a {@link PoisonedPageException} naming the page;
     * the page beside it is untouched.
     */
    @Test
    @ForceSimulatedKernel
    void aPoisonedPageFailsTheGuardedAccessNamingThePage(Kernel kernel) throws Exception {
        long page = kernel.pageSize();
        MemorySegment m = kernel.mmap(MemorySegment.NULL, 2 * page, Prot.READ_WRITE,
                MapFlags.PRIVATE | MapFlags.ANONYMOUS, -1, 0);
        try {
            m.set(JAVA_LONG, 0, 1L);
            m.set(JAVA_LONG, page, 2L);
            MemoryFailure failures = MemoryFailure.forFeature();
            assertThat(failures.kernel()).isSameAs(kernel);

            SimulatedMachine.poisonPage(kernel, m.asSlice(page));

            assertThatThrownBy(() -> failures.guard(m, () -> m.get(JAVA_LONG, page)))
                    .isInstanceOfSatisfying(PoisonedPageException.class,
                            e -> assertThat(e.address()).isEqualTo(m.address() + page));
            assertThat(failures.poisonedPages(m)).extracting(PoisonedPage::address).containsExactly(m.address() + page);
            MemorySegment first = m.asSlice(0, page);
            assertThat(failures.guard(first, () -> first.get(JAVA_LONG, 0))).isEqualTo(1L);
        } finally {
            kernel.munmap(m, 2 * page);
        }
    }
}
