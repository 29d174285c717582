package dev.kdirect.examples.pmem;

import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.pmem.DamageReport;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/**
 * The crash run's own arithmetic (its crash points, its damage to the commit slots), then: the pmem log survives at least 10,000 simulated crash images with nothing lost and nothing torn accepted, and
 * 10,000 media-damage images with nothing damaged accepted, in one report.
 */
class LogCrashTestTest {

    @Test
    void tenThousandCrashAndTenThousandDamageImagesAcceptNothingTornOrDamaged() throws Exception {
        // 98 random images at each of the 103 crash points that have too many to check all
        LogCrashTest.Result result = LogCrashTest.run(98, 10_000, 50, 20261201);
        assertThat(result.report().images()).isGreaterThanOrEqualTo(10_000);
        assertThat(result.lostAcknowledged()).isZero();
        assertThat(result.tornAccepted()).isZero();
        assertThat(result.damagedAccepted()).isZero();
        result.report().assertConsistent();
        assertThat(result.report().redundantFlushes()).isEmpty();
        DamageReport damage = result.report().damage();
        assertThat(damage.images()).isEqualTo(10_000);
        assertThat(damage.accepted() + damage.salvaged() + damage.refused()).isEqualTo(10_000);
        assertThat(damage.imagesByKind()).containsOnlyKeys("bit flip", "zeroed range", "zeroed tail",
                "torn commit slot", "moved end pointer");
        // every verdict occurs: damage in free space is accepted, in records refused and salvaged, and a torn or
        // moved newest commit slot falls back to the older commit with its loss counted
        assertThat(damage.accepted()).isPositive();
        assertThat(damage.salvaged()).isPositive();
        assertThat(damage.refused()).isPositive();
        assertThat(damage.lost()).isPositive();
    }

    @Test
    void aRunHasTwoCrashPointsPerAppendTwoWhileFormattingAndTheEnd() throws Exception {
        LogCrashTest.Result result = LogCrashTest.run(0, 0, 3, 1);
        assertThat(result.report().crashPoints()).isEqualTo(2 * 3 + 3);
        result.report().assertConsistent();
    }

    /** Words 0 to 3 of the slot at {@code slot}. */
    private static long[] slotWords(MemorySegment image, long slot) {
        return LongStream.range(0, 4).map(w -> image.get(JAVA_LONG_UNALIGNED, slot + 8 * w)).toArray();
    }

    private static Matcher parsed(String pattern, String description) {
        Matcher m = Pattern.compile(pattern).matcher(description);
        assertThat(m.matches()).as(description).isTrue();
        return m;
    }

    @Test
    void aTornSlotTakesSomeButNotAllWordsOfTheOtherSlotAndEveryMaskOccurs() throws Exception {
        for (int appends : new int[] {1, 2}) { // commit 2 in slot 0 is the newest, then commit 3 in slot 1
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment log = PmemLogTest.logOf(arena, 4096, appends).readOnlyView();
                long newest = PmemLog.SLOTS[(1 + appends) % 2];
                long other = PmemLog.SLOTS[appends % 2];
                assertThat(LogCrashTest.newestSlot(log)).isEqualTo(newest);
                long[] before = slotWords(log, newest);
                long[] older = slotWords(log, other);
                Set<Integer> masks = new TreeSet<>();
                Random random = new Random(appends);
                for (int i = 0; i < 300; i++) {
                    MemorySegment image = arena.allocate(log.byteSize()).copyFrom(log);
                    String done = LogCrashTest.tearNewestSlot(image, 0, random);
                    Matcher m = parsed("words ([01]+) \\(bit mask\\) of the slot at (\\d+) stale", done);
                    int mask = Integer.parseInt(m.group(1), 2);
                    masks.add(mask);
                    assertThat(Long.parseLong(m.group(2))).isEqualTo(newest);
                    long[] after = slotWords(image, newest);
                    for (int w = 0; w < 4; w++) {
                        assertThat(after[w]).as("%s: word %d", done, w).isEqualTo((mask & 1 << w) != 0 ? older[w] : before[w]);
                    }
                    assertThat(slotWords(image, other)).isEqualTo(older);
                }
                assertThat(masks).as("the non-empty proper subsets of 4 words")
                        .isEqualTo(IntStream.rangeClosed(1, 14).boxed().collect(Collectors.toSet()));
            }
        }
    }

    @Test
    void aMovedEndMovesTheNewestSlotsEndByEightTo256BytesEitherWay() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment log = PmemLogTest.logOf(arena, 4096, 1).readOnlyView();
            long end = PmemLog.SLOTS[0] + 8; // commit 2's end
            Set<Long> moves = new TreeSet<>();
            Random random = new Random(1);
            for (int i = 0; i < 1000; i++) {
                MemorySegment image = arena.allocate(log.byteSize()).copyFrom(log);
                String done = LogCrashTest.moveEnd(image, 0, random);
                Matcher m = parsed("the end at (\\d+) moved by (-?\\d+)", done);
                long by = Long.parseLong(m.group(2));
                moves.add(by);
                assertThat(Long.parseLong(m.group(1))).isEqualTo(end);
                assertThat(image.get(JAVA_LONG_UNALIGNED, end)).as(done)
                        .isEqualTo(log.get(JAVA_LONG_UNALIGNED, end) + by);
                image.set(JAVA_LONG_UNALIGNED, end, log.get(JAVA_LONG_UNALIGNED, end));
                assertThat(image.mismatch(log)).as("nothing else changed").isEqualTo(-1);
            }
            assertThat(moves).as("every multiple of 8 from 8 to 256, forward and back").isEqualTo(
                    LongStream.rangeClosed(-32, 32).filter(k -> k != 0).map(k -> 8 * k).boxed()
                            .collect(Collectors.toSet()));
        }
    }
}
