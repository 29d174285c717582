package dev.kdirect.pmem;

import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The crash tester on small programs whose right and wrong answers are known: a value published through a
 * commit word, with the flushes in the right order, in the wrong order, missing, and repeated.
 */
class CrashTesterTest {
    private static final long DATA = 0;
    private static final long COMMIT = 64; // its own cache line

    /** Recovery: a committed value must be there whole, and what was acknowledged must be committed. */
    private static void recover(MemorySegment image, List<Object> acknowledged) {
        long committed = image.get(JAVA_LONG_UNALIGNED, COMMIT);
        if (committed != 0) {
            assertThat(image.get(JAVA_LONG_UNALIGNED, DATA)).as("committed data").isEqualTo(committed);
            assertThat(image.get(JAVA_LONG_UNALIGNED, DATA + 8)).as("its second word").isEqualTo(~committed);
        }
        if (acknowledged.contains("v")) {
            assertThat(committed).as("acknowledged value").isEqualTo(0x1234L);
        }
    }

    @Test
    void dataPersistedBeforeItsCommitWordSurvivesEveryCrash() throws Exception {
        CrashReport report = CrashTester.forRegion(4096).run((region, acks) -> {
            region.putLong(DATA, 0x1234L);
            region.putLong(DATA + 8, ~0x1234L);
            region.persist(DATA, 16);
            region.putLongAtomic(COMMIT, 0x1234L);
            region.persist(COMMIT, 8);
            acks.add("v");
        }, CrashTesterTest::recover);
        report.assertConsistent();
        // two words uncertain before the first drain (2 x 2 images), one before the second (2), plus the end (1)
        assertThat(report.crashPoints()).isEqualTo(3);
        assertThat(report.images()).isEqualTo(4 + 2 + 1);
        assertThat(report.redundantFlushes()).isEmpty();
    }

    @Test
    void committingBeforeTheDataIsPersistentIsCaughtWithTheWordsToFlush() throws Exception {
        CrashReport report = CrashTester.forRegion(4096).run((region, acks) -> {
            region.putLong(DATA, 0x1234L);
            region.putLong(DATA + 8, ~0x1234L);
            region.putLongAtomic(COMMIT, 0x1234L); // published before the data is written back
            region.persist(COMMIT, 8);
            region.persist(DATA, 16);
            acks.add("v");
        }, CrashTesterTest::recover);
        assertThat(report.consistent()).isFalse();
        assertThat(report.missingFlushes()).contains(DATA, DATA + 8);
        assertThatThrownBy(report::assertConsistent).isInstanceOf(AssertionError.class)
                .hasMessageContaining("0x0").hasMessageContaining("never flushed");
    }

    @Test
    void anAcknowledgementWithoutAFenceIsCaught() throws Exception {
        CrashReport report = CrashTester.forRegion(4096).run((region, acks) -> {
            region.putLong(DATA, 0x1234L);
            region.putLong(DATA + 8, ~0x1234L);
            region.persist(DATA, 16);
            region.putLongAtomic(COMMIT, 0x1234L);
            region.flush(COMMIT, 8); // written back but never fenced
            acks.add("v");
        }, CrashTesterTest::recover);
        assertThat(report.consistent()).isFalse();
        assertThat(report.failures().get(0).image()).contains("flushed, not fenced");
    }

    @Test
    void aSecondFlushOfACleanLineIsReportedAsRedundant() throws Exception {
        CrashReport report = CrashTester.forRegion(4096).run((region, acks) -> {
            region.putLongAtomic(COMMIT, 7L);
            region.persist(COMMIT, 8);
            region.persist(COMMIT, 8);
        }, (image, acknowledged) -> { });
        report.assertConsistent();
        assertThat(report.redundantFlushes()).containsExactly(COMMIT);
    }

    /** Stores {@code words} words, never flushed: each one uncertain (old or new) at the only crash point. */
    private static CrashTester.Workload unflushedWords(int words) {
        return (region, acks) -> {
            for (int i = 0; i < words; i++) {
                region.putLong(8L * i, i + 1);
            }
        };
    }

    @Test
    void upToTwelveUncertainWordsEveryImageIsCheckedBeyondThemImagesAreSampled() throws Exception {
        CrashTester tester = CrashTester.forRegion(4096).samplesPerPoint(100);
        assertThat(tester.run(unflushedWords(12), (image, acknowledged) -> { }).images()).as("2^12 images")
                .isEqualTo(4096);
        assertThat(tester.run(unflushedWords(13), (image, acknowledged) -> { }).images()).isEqualTo(100);
    }

    /** The first 40 words of each image the recovery check saw, sampled with this seed. */
    private static List<List<Long>> sampledImages(long seed) throws Exception {
        List<List<Long>> seen = new ArrayList<>();
        CrashReport report = CrashTester.forRegion(4096).samplesPerPoint(100).seed(seed).run(unflushedWords(40),
                (image, acknowledged) -> {
                    List<Long> words = new ArrayList<>();
                    for (int i = 0; i < 40; i++) {
                        words.add(image.get(JAVA_LONG_UNALIGNED, 8L * i));
                    }
                    seen.add(words);
                });
        assertThat(report.images()).isEqualTo(100);
        return seen;
    }

    @Test
    void sampledImagesMixOldAndNewWordsAndASeedReproducesThem() throws Exception {
        List<List<Long>> images = sampledImages(5);
        for (int i = 0; i < 40; i++) {
            long word = i;
            assertThat(images).as("word %d, old (0) or new (%d)", i, i + 1).map(image -> image.get((int) word))
                    .containsOnly(0L, word + 1).contains(0L, word + 1);
        }
        assertThat(sampledImages(5)).as("the same seed").isEqualTo(images);
        assertThat(sampledImages(6)).as("another seed").isNotEqualTo(images);
    }

    /**
     * Word 1 stored (1), written back, stored again (2), never fenced: at the end it may hold 0, 1 or 2. The check
     * fails on the images where it holds one of {@code failOn}.
     */
    private static CrashReport threeValuesOfWordOne(long... failOn) throws Exception {
        return CrashTester.forRegion(4096).run((region, acks) -> {
            region.putLong(8, 1L);
            region.flush(8, 8);
            region.putLong(8, 2L);
        }, (image, acknowledged) -> {
            long value = image.get(JAVA_LONG_UNALIGNED, 8);
            for (long bad : failOn) {
                assertThat(value).as("word 1").isNotEqualTo(bad);
            }
        });
    }

    @Test
    void aFailingImageIsDescribedWordByWordAndOnlyOlderValuesCountAsMissingFlushes() throws Exception {
        CrashReport all = threeValuesOfWordOne(0, 1, 2);
        assertThat(all.failures()).extracting(CrashReport.Failure::image).containsExactly(
                "word 0x8: old (flushed, not fenced); ", "word 0x8: flushed value (flushed, not fenced); ",
                "word 0x8: new (flushed, not fenced); ");
        assertThat(all.missingFlushes()).containsExactly(8L);
        assertThat(threeValuesOfWordOne(2).missingFlushes()).as("failing only with the latest store").isEmpty();
        assertThat(threeValuesOfWordOne(0).missingFlushes()).as("failing only with the old value")
                .containsExactly(8L);
    }

    /** A value and its complement, persisted then acknowledged: the program the damage tests run. */
    private static CrashReport damaged(CrashTester.DamageCheck check) throws Exception {
        return CrashTester.forRegion(4096).damageImages(300, Map.of()).run((region, acks) -> {
            region.putLong(DATA, 0x1234L);
            region.putLong(DATA + 8, ~0x1234L);
            region.persist(DATA, 16);
            acks.add("v");
        }, (image, acknowledged) -> { }, check);
    }

    @Test
    void damagedImagesAreCountedByVerdictAndKind() throws Exception {
        CrashReport report = damaged((image, acknowledged) -> {
            long value = image.get(JAVA_LONG_UNALIGNED, DATA);
            if (value != ~image.get(JAVA_LONG_UNALIGNED, DATA + 8)) {
                return new DamageReport.Outcome(DamageReport.Verdict.REFUSED, acknowledged.size());
            }
            assertThat(value).as("an accepted value").isIn(0L, 0x1234L); // 0: the image before the store
            return new DamageReport.Outcome(DamageReport.Verdict.ACCEPTED, value == 0 ? acknowledged.size() : 0);
        });
        report.assertConsistent();
        DamageReport damage = report.damage();
        assertThat(damage.imagesByKind()).containsExactly(Map.entry("bit flip", 100L), Map.entry("zeroed range", 100L),
                Map.entry("zeroed tail", 100L));
        assertThat(damage.accepted() + damage.salvaged() + damage.refused()).isEqualTo(300);
        assertThat(damage.refused()).as("a bit flip in the value or its complement is always caught").isPositive();
    }

    @Test
    void aCheckThatAcceptsDamagedDataFails() throws Exception {
        CrashReport report = damaged((image, acknowledged) -> {
            if (acknowledged.contains("v")) {
                assertThat(image.get(JAVA_LONG_UNALIGNED, DATA)).as("the acknowledged value").isEqualTo(0x1234L);
            }
            return new DamageReport.Outcome(DamageReport.Verdict.ACCEPTED, 0);
        });
        assertThat(report.consistent()).isFalse();
        assertThat(report.damage().failures()).isNotEmpty();
        assertThatThrownBy(report::assertConsistent).isInstanceOf(AssertionError.class)
                .hasMessageContaining("damaged images").hasMessageContaining("the acknowledged value");
    }

    @Test
    void unalignedAtomicStoresAndBadRegionSizesAreRefused() {
        for (long size : new long[] {100, 0, -64}) {
            assertThatThrownBy(() -> CrashTester.forRegion(size)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("positive multiple of 64");
        }
        assertThatThrownBy(() -> CrashTester.forRegion(4096).run((region, acks) -> region.putLongAtomic(4, 1L),
                (image, acknowledged) -> { })).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("multiple of 8");
        assertThatThrownBy(() -> CrashTester.forRegion(4096).run((region, acks) -> region.flush(4090, 16),
                (image, acknowledged) -> { })).isInstanceOf(IndexOutOfBoundsException.class);
    }

    @Test
    void everyDamageKindIsAppliedToACopyOfAPersistedImageAndTheLossesAreSummed() throws Exception {
        long[] intactAfterTheAcknowledgement = {0};
        long[] lostByTheCheck = {0};
        CrashReport report = CrashTester.forRegion(4096)
                .damageImages(400, Map.of("none", (image, used, random) -> "nothing done")).run((region, acks) -> {
                    region.putLong(DATA, 0x1234L);
                    region.putLong(DATA + 8, ~0x1234L);
                    region.persist(DATA, 16);
                    acks.add("v");
                }, (image, acknowledged) -> { }, (image, acknowledged) -> {
                    boolean intact = image.get(JAVA_LONG_UNALIGNED, DATA) == 0x1234L
                            && image.get(JAVA_LONG_UNALIGNED, DATA + 8) == ~0x1234L;
                    long lost = intact ? 0 : acknowledged.size();
                    intactAfterTheAcknowledgement[0] += intact && acknowledged.contains("v") ? 1 : 0;
                    lostByTheCheck[0] += lost;
                    return new DamageReport.Outcome(DamageReport.Verdict.ACCEPTED, lost);
                });
        DamageReport damage = report.damage();
        assertThat(damage.imagesByKind()).containsOnly(Map.entry("bit flip", 100L), Map.entry("zeroed range", 100L),
                Map.entry("zeroed tail", 100L), Map.entry("none", 100L));
        assertThat(intactAfterTheAcknowledgement[0]).as("undamaged copies of the image holding the value")
                .isPositive();
        assertThat(lostByTheCheck[0]).isPositive();
        assertThat(damage.lost()).isEqualTo(lostByTheCheck[0]);
    }
}
