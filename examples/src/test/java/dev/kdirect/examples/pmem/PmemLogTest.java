package dev.kdirect.examples.pmem;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;
import static java.nio.charset.StandardCharsets.US_ASCII;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import dev.kdirect.Credentials;
import dev.kdirect.Kernels;
import dev.kdirect.pmem.Granularity;
import dev.kdirect.pmem.PmemRegion;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The log's format v2 at its edges, on images built by appending and then changed by hand: a log filled to its
 * last byte, the records past an older commit, salvage's problems, the messages of a refused image.
 */
class PmemLogTest {
    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void tearDown() {
        arena.close();
    }

    /** A region over zeroed memory on the simulated kernel; its memory is the log's image. */
    static PmemRegion region(Arena arena, long size) {
        return PmemRegion.ofMapped(Kernels.newSimulated(Credentials.ofCurrentProcess(), List.of()),
                arena.allocate(size, 64), Granularity.CACHE_LINE, "memory of the test");
    }

    /** A log in a region of {@code size} bytes holding {@code records} records of {@link #payload}. */
    static PmemRegion logOf(Arena arena, long size, int records) throws Exception {
        PmemRegion region = region(arena, size);
        PmemLog log = PmemLog.open(region);
        for (int i = 0; i < records; i++) {
            log.append(payload(i));
        }
        return region;
    }

    private PmemRegion region(long size) {
        return region(arena, size);
    }

    private PmemRegion logOf(long size, int records) throws Exception {
        return logOf(arena, size, records);
    }

    /** Record i: "record i", 8 bytes, 24 with its header (i < 10). */
    private static byte[] payload(int i) {
        return ("record " + i).getBytes(US_ASCII);
    }

    private static MemorySegment image(PmemRegion region) {
        return region.readOnlyView();
    }

    private static List<String> texts(List<byte[]> records) {
        return records.stream().map(r -> new String(r, US_ASCII)).toList();
    }

    private static String refusal(MemorySegment image) {
        try {
            PmemLog.recover(image);
        } catch (DamagedLogException e) {
            return e.getMessage();
        }
        throw new AssertionError("recovery accepted the image");
    }

    @Test
    void theEndAndTheCountFollowEveryAppendAndReopeningFindsThem() throws Exception {
        PmemRegion region = region(4096);
        PmemLog log = PmemLog.open(region);
        assertThat(log.end()).as("an empty log ends where records start").isEqualTo(PmemLog.FIRST_RECORD);
        assertThat(log.count()).isZero();
        log.append(new byte[1]); // 16 + 1, padded to 24
        log.append(new byte[9]); // 16 + 9, padded to 32
        assertThat(log.end()).isEqualTo(PmemLog.FIRST_RECORD + 24 + 32);
        assertThat(log.count()).isEqualTo(2);
        PmemLog reopened = PmemLog.open(region);
        assertThat(reopened.end()).isEqualTo(log.end());
        assertThat(reopened.count()).isEqualTo(2);
        assertThat(reopened.opened().records()).containsExactly(new byte[1], new byte[9]);
    }

    @Test
    void aRecordThatFitsExactlyIsAppendedAndSalvageReadsTheLastOneAtTheEnd() throws Exception {
        PmemRegion region = region(256);
        PmemLog log = PmemLog.open(region);
        log.append(new byte[24]); // 192..232
        log.append(new byte[8]); // 232..256: the last 24 bytes
        assertThatThrownBy(() -> log.append(new byte[1])).isInstanceOf(LogFullException.class)
                .hasMessage("the log is full: it holds 2 records, 0 bytes are left and the next record needs 24");
        PmemLog.Salvage salvage = PmemLog.salvage(image(region));
        assertThat(salvage.records()).extracting(PmemLog.SalvagedRecord::sequence, PmemLog.SalvagedRecord::offset)
                .containsExactly(tuple(0L, 192L), tuple(1L, 232L));
        assertThat(salvage.committed()).isEqualTo(2);
        assertThat(salvage.lost()).isEmpty();
        assertThat(salvage.problems()).as("an intact log").isEmpty();
    }

    @Test
    void aLogFullBeforeItsEndSaysHowManyBytesAreLeft() throws Exception {
        PmemRegion region = region(256);
        PmemLog log = PmemLog.open(region);
        log.append(new byte[30]); // 192..240
        assertThatThrownBy(() -> log.append(new byte[1])).isInstanceOf(LogFullException.class)
                .hasMessage("the log is full: it holds 1 records, 16 bytes are left and the next record needs 24");
    }

    @Test
    void aDamagedNewestSlotFallsBackAndCountsEveryWholeRecordPastTheOlderEnd() throws Exception {
        PmemRegion region = logOf(4096, 3);
        MemorySegment image = image(region);
        byte[] slotsAtThree = image.asSlice(PmemLog.SLOTS[0], PmemLog.FIRST_RECORD - PmemLog.SLOTS[0])
                .toArray(JAVA_BYTE); // both slot lines
        PmemLog.open(region).append(payload(3));
        PmemLog.open(region).append(payload(4));
        // the slots as they were at 3 records (commit 4 in slot 0, commit 3 in slot 1), commit 4's CRC broken
        MemorySegment copy = arena.allocate(image.byteSize()).copyFrom(image);
        MemorySegment.copy(slotsAtThree, 0, copy, JAVA_BYTE, PmemLog.SLOTS[0], slotsAtThree.length);
        copy.set(JAVA_BYTE, PmemLog.SLOTS[0] + 24, (byte) (copy.get(JAVA_BYTE, PmemLog.SLOTS[0] + 24) ^ 1));

        PmemLog.Recovery r = PmemLog.recover(copy);
        assertThat(r.fellBack()).isTrue();
        assertThat(r.sequence()).isEqualTo(3);
        assertThat(texts(r.records())).containsExactly("record 0", "record 1");
        assertThat(r.wholePastEnd()).as("records 2, 3 and 4 lie whole past commit 3's end").isEqualTo(3);
    }

    @Test
    void salvageNamesTheMissingRecordsBeforeTheNextThatChecks() throws Exception {
        MemorySegment image = image(logOf(4096, 4));
        long second = PmemLog.FIRST_RECORD + 24;
        MemorySegment copy = arena.allocate(image.byteSize()).copyFrom(image);
        copy.asSlice(second, 48).fill((byte) 0); // records 1 and 2
        PmemLog.Salvage salvage = PmemLog.salvage(copy);
        assertThat(salvage.records()).extracting(PmemLog.SalvagedRecord::sequence).containsExactly(0L, 3L);
        assertThat(salvage.lost()).containsExactly(1L, 2L);
        assertThat(salvage.problems()).containsExactly("records 1 to 2 are missing before offset " + (second + 48));
    }

    @Test
    void aRecordsLengthIsCheckedAgainstTheCommittedEndBeforeItsChecksum() throws Exception {
        MemorySegment image = image(logOf(4096, 1)); // record 0: length 8 at 192, up to the end at 216 exactly
        MemorySegment copy = arena.allocate(image.byteSize()).copyFrom(image);
        copy.set(JAVA_BYTE, PmemLog.FIRST_RECORD + 16, (byte) 'R'); // the payload changed, its length not
        assertThat(refusal(copy)).isEqualTo("record 0 at offset 192 fails its check (its CRC-32C does not match)");
        copy.set(JAVA_INT_UNALIGNED, PmemLog.FIRST_RECORD, 9);
        assertThat(refusal(copy)).isEqualTo("record 0 at offset 192 fails its check (length 9 runs past 216)");
    }

    @Test
    void aFormatV1LogIsRefusedAsV1AndOtherDamageIsNot() throws Exception {
        MemorySegment v1 = arena.allocate(4096);
        v1.set(JAVA_LONG_UNALIGNED, 0, PmemLog.MAGIC_V1);
        assertThatThrownBy(() -> PmemLog.recover(v1)).isInstanceOfSatisfying(DamagedLogException.class,
                e -> assertThat(e.formatV1()).isTrue());
        assertThat(PmemLog.salvage(v1)).isEqualTo(new PmemLog.Salvage(List.of(), -1, List.of(),
                List.of("format v1: salvage reads format v2 only")));
        MemorySegment other = arena.allocate(4096);
        other.set(JAVA_LONG_UNALIGNED, 0, PmemLog.MAGIC_V1 + 1);
        assertThatThrownBy(() -> PmemLog.recover(other)).isInstanceOfSatisfying(DamagedLogException.class,
                e -> assertThat(e.formatV1()).isFalse());
    }

    @Test
    void aLogCopiedIntoALargerFileIsRefusedForItsCapacity() throws Exception {
        MemorySegment image = image(logOf(4096, 1));
        MemorySegment larger = arena.allocate(8192).copyFrom(image);
        assertThat(refusal(larger)).isEqualTo("the header says the log is 4096 bytes, but the file holds 8192");
    }

    @Test
    void anImageOfAnOddSizeIsBlankOnlyWhenItsLastBytesAreZeroToo() throws Exception {
        MemorySegment odd = arena.allocate(1001);
        assertThat(PmemLog.recover(odd).blank()).isTrue();
        odd.set(JAVA_BYTE, 1000, (byte) 1);
        assertThat(refusal(odd)).startsWith("the header's magic is zero, but records follow");
    }
}
