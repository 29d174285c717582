package dev.kdirect.pmem;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Credentials;
import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The simulated machine's persistence as the model sees it through the simulated kernel: what the CPU writes back
 * (whole 64-byte lines covering the range, CLWB), when it becomes persistent (SFENCE), and what msync(MS_SYNC)
 * makes durable (the pages of a file mapping, mm/msync.c -> vfs_fsync_range), while a write-back of a page-cache
 * line reaches only DRAM.
 */
class PersistenceModelTest {
    private final Kernel kernel = Kernels.newSimulated(Credentials.ofCurrentProcess(), List.of());
    private final Arena arena = Arena.ofConfined();

    @TempDir
    Path notDax;

    @AfterEach
    void tearDown() {
        arena.close();
    }

    /** Does a crash at this moment keep the word at {@code offset} as the region holds it now? */
    static boolean survivesEveryCrash(PmemRegion region, long offset) {
        CrashState now = region.model().crashState(0, "now", List.of());
        int word = (int) (offset / Long.BYTES);
        return now.uncertain().stream().noneMatch(w -> w.index() == word)
                && now.media()[word] == region.getLong(offset & -Long.BYTES);
    }

    /** A region over 4096 bytes of memory the kernel treats as persistent, with words stored in lines 0 to 2. */
    private PmemRegion storedInThreeLines() {
        MemorySegment memory = arena.allocate(4096, PersistenceModel.LINE);
        PmemRegion region = PmemRegion.simulated(kernel, memory, new PersistenceModel(memory, (m, label) -> { }));
        for (long offset : new long[] {0, 56, 64, 120, 128}) {
            region.putLong(offset, offset + 1);
        }
        return region;
    }

    @Test
    void persistWritesBackExactlyTheLinesCoveringTheRangeAndFencesOnce() throws Exception {
        PmemRegion region = storedInThreeLines();
        assertThat(survivesEveryCrash(region, 0)).as("a store alone is not durable").isFalse();
        region.persist(60, 10); // bytes 60..69: lines 0 and 64
        assertThat(region.model().linesWrittenBack()).as("lines written back by persist(60, 10)").isEqualTo(2);
        assertThat(region.model().fences()).as("fences by persist(60, 10)").isEqualTo(1);
        assertThat(List.of(0L, 56L, 64L, 120L)).allMatch(offset -> survivesEveryCrash(region, offset));
        assertThat(survivesEveryCrash(region, 128)).as("line 128 was not written back").isFalse();
    }

    @Test
    void flushWritesBackTheLinesAndOnlyDrainMakesThemPersistent() throws Exception {
        PmemRegion region = storedInThreeLines();
        region.flush(60, 10);
        assertThat(region.model().linesWrittenBack()).as("lines written back by flush(60, 10)").isEqualTo(2);
        assertThat(region.model().fences()).as("fences by flush(60, 10)").isZero();
        assertThat(survivesEveryCrash(region, 0)).as("written back, not fenced").isFalse();
        region.drain();
        assertThat(region.model().fences()).as("fences by drain").isEqualTo(1);
        assertThat(List.of(0L, 56L, 64L, 120L)).allMatch(offset -> survivesEveryCrash(region, offset));
        assertThat(survivesEveryCrash(region, 128)).isFalse();
    }

    @Test
    void onAPageCacheMappingOnlyMsyncMakesStoresDurableAndOnlyTheirPages() throws Exception {
        long page = kernel.pageSize();
        try (PmemRegion region = PmemRegion.map(kernel, notDax.resolve("paged"), 2 * page, false)) {
            assertThat(region.granularity()).isEqualTo(Granularity.PAGE);
            region.putLong(8, 1L);
            region.putLong(page + 8, 2L);
            kernel.cacheLinePersist(region.readOnlyView().asSlice(0, 2 * page));
            assertThat(region.model().linesWrittenBack()).as("CLWB of page-cache lines reaches DRAM only").isZero();
            assertThat(survivesEveryCrash(region, page + 8)).isFalse();
            kernel.msync(region.readOnlyView().asSlice(page), page, 1); // MS_ASYNC starts no write-back
            assertThat(survivesEveryCrash(region, page + 8)).isFalse();

            region.persist(page + 8, 8);
            assertThat(survivesEveryCrash(region, page + 8)).as("msynced by persist").isTrue();
            assertThat(survivesEveryCrash(region, 8)).as("the first page was not msynced").isFalse();
        }
    }
}
