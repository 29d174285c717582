package dev.kdirect.pmem;

import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Credentials;
import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import dev.kdirect.MsyncFlags;
import dev.kdirect.pmem.CrashState.UncertainWord;
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
            kernel.msync(region.readOnlyView().asSlice(page), page, MsyncFlags.ASYNC); // starts no write-back
            assertThat(survivesEveryCrash(region, page + 8)).isFalse();

            region.persist(page + 8, 8);
            assertThat(survivesEveryCrash(region, page + 8)).as("msynced by persist").isTrue();
            assertThat(survivesEveryCrash(region, 8)).as("the first page was not msynced").isFalse();
        }
    }

    /** A store of one word, as a region's accessor makes it: memory, then the model told. */
    private static void store(MemorySegment memory, PersistenceModel model, long offset, long value) {
        memory.set(JAVA_LONG_UNALIGNED, offset, value);
        model.stored(offset, Long.BYTES);
    }

    private static long persisted(PersistenceModel model, long offset) {
        return model.crashState(0, "now", List.of()).media()[(int) (offset / Long.BYTES)];
    }

    private static List<Integer> uncertainWords(PersistenceModel model) {
        return model.crashState(0, "now", List.of()).uncertain().stream().map(UncertainWord::index).toList();
    }

    @Test
    void aStoreDirtiesExactlyTheWordsItCoversAndOnlyWordsThatMayDifferAreUncertain() {
        MemorySegment memory = arena.allocate(256, PersistenceModel.LINE);
        memory.set(JAVA_LONG_UNALIGNED, 0, 42L);
        PersistenceModel model = new PersistenceModel(memory, (m, label) -> { });
        assertThat(persisted(model, 0)).as("the media starts as the memory was").isEqualTo(42L);

        model.stored(76, 0); // an empty store in line 64 dirties nothing
        store(memory, model, 56, 7L); // word 7, the last of line 0
        assertThat(uncertainWords(model)).containsExactly(7);
        model.writtenBack(0, 128);
        assertThat(model.redundantFlushes()).as("line 64 held nothing new").containsExactly(64L);
        List<UncertainWord> flushed = model.crashState(0, "now", List.of()).uncertain();
        assertThat(flushed).as("of the flushed line, only the word that changed").extracting(UncertainWord::index)
                .containsExactly(7);
        assertThat(flushed.get(0).flushed()).isTrue();
        assertThat(flushed.get(0).candidates()).containsExactly(0L, 7L);

        model.fenced();
        assertThat(persisted(model, 56)).isEqualTo(7L);
        store(memory, model, 56, 8L);
        UncertainWord again = model.crashState(0, "now", List.of()).uncertain().get(0);
        assertThat(again.flushed()).as("stored again after the fence: not flushed since").isFalse();
        assertThat(again.candidates()).containsExactly(7L, 8L);
    }

    @Test
    void msyncMakesExactlyItsPagesPersistentAndALaterFenceDoesNotBringBackOlderFlushedValues() {
        long page = 4096;
        MemorySegment memory = arena.allocate(3 * page, PersistenceModel.LINE);
        PersistenceModel model = new PersistenceModel(memory, (m, label) -> { });
        long[] edges = {page - 64, page, 2 * page - 64, 2 * page}; // the lines on both sides of page 1's edges
        for (long line : edges) {
            store(memory, model, line, 1L);
            model.writtenBack(line, 8);
        }
        store(memory, model, page, 2L); // page 1's lines stored again after their write-back
        store(memory, model, 2 * page - 64, 2L);
        store(memory, model, 2 * page + 8, 3L); // page 2: stored, never written back

        model.synced(page, page);
        model.fenced();
        assertThat(List.of(page - 64, page, 2 * page - 64, 2 * page)).map(offset -> persisted(model, offset))
                .as("page 1 as msync wrote it, the other lines as written back and fenced").containsExactly(1L, 2L, 2L, 1L);
        assertThat(uncertainWords(model)).as("only page 2's word that was never written back")
                .containsExactly((int) ((2 * page + 8) / Long.BYTES));
        model.writtenBack(page, 64);
        assertThat(model.redundantFlushes()).as("msync left page 1 clean").containsExactly(page);
    }
}
