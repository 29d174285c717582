package dev.kdirect.examples.pmem;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/**
 * Recovery of log images written here byte by byte in the documented layout (magic, committed end, then
 * {@code [u32 length][u32 crc32c][payload]} records padded to 8 bytes from offset 64): what it accepts at the
 * edges of the layout and what it reports as corruption.
 */
class PmemLogRecoveryTest {
    private static final int SIZE = 256;

    @Test
    void recoversEveryCommittedRecordUpToTheEndAndNothingAfterIt() {
        ByteBuffer log = log();
        long end = record(log, 64, "first");
        end = record(log, end, ""); // append takes an empty payload: an 8-byte record
        end = record(log, end, "second record");
        record(log, end, "written, not committed");
        commit(log, end);
        assertThat(texts(log)).containsExactly("first", "", "second record");
    }

    @Test
    void anEmptyLogAndALogFilledToTheLastByteAreBothValid() {
        ByteBuffer log = log();
        commit(log, PmemLog.FIRST_RECORD);
        assertThat(texts(log)).isEmpty();
        // One record of SIZE - 64 - 8 bytes ends exactly at the end of the image.
        long end = record(log, 64, "x".repeat(SIZE - 64 - 8));
        assertThat(end).isEqualTo(SIZE);
        commit(log, end);
        assertThat(texts(log)).hasSize(1);
    }

    @Test
    void aTornPayloadOrAnEndOutOfRangeIsCorruption() {
        ByteBuffer log = log();
        long end = record(log, 64, "payload");
        commit(log, end);
        log.put(64 + 8 + 2, (byte) 'X');
        assertThatThrownBy(() -> texts(log)).hasMessageContaining("checksum mismatch");
        for (long bad : new long[] {PmemLog.FIRST_RECORD - 8, SIZE + 8, end + 4}) {
            commit(log, bad);
            assertThatThrownBy(() -> texts(log)).as("end %d", bad).hasMessageContaining("out of range");
        }
        // A record that claims more than the committed end holds.
        commit(log, end);
        log.putInt(64, 100);
        assertThatThrownBy(() -> texts(log)).hasMessageContaining("claims 100 bytes");
    }

    @Test
    void anImageWithoutTheMagicHoldsNoLog() {
        ByteBuffer log = log();
        log.putLong(0, PmemLog.MAGIC + 1);
        commit(log, record(log, 64, "ignored"));
        assertThat(texts(log)).isEmpty();
    }

    private static ByteBuffer log() {
        return ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN).putLong(0, PmemLog.MAGIC);
    }

    /** Stores the committed end. */
    private static void commit(ByteBuffer log, long end) {
        log.putLong((int) PmemLog.END, end);
    }

    /** Writes one record at {@code at} and returns the offset after it. */
    private static long record(ByteBuffer log, long at, String text) {
        byte[] payload = text.getBytes(StandardCharsets.US_ASCII);
        CRC32C crc = new CRC32C();
        crc.update(payload);
        log.putInt((int) at, payload.length).putInt((int) at + 4, (int) crc.getValue()).put((int) at + 8, payload);
        return (at + 8 + payload.length + 7) & -8L;
    }

    private static java.util.List<String> texts(ByteBuffer log) {
        return PmemLog.recover(MemorySegment.ofArray(log.array())).stream()
                .map(b -> new String(b, StandardCharsets.US_ASCII)).toList();
    }
}
