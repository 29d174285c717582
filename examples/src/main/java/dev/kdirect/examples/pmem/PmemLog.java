package dev.kdirect.examples.pmem;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import dev.kdirect.KernelException;
import dev.kdirect.pmem.PmemRegion;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * A crash-consistent append-only log on persistent memory. Layout: a header line (magic at 0, the committed end
 * at 8), then records from offset 64, each {@code [u32 length][u32 crc32c][payload]} padded to 8 bytes.
 *
 * <p>An append writes the record past the committed end, persists it, then moves the end with one failure-atomic
 * 8-byte store and persists that: a crash leaves either the old end (the new record is ignored, torn or not) or
 * the new one (the record is whole). Recovery trusts nothing before checking it: every record up to the end must
 * have a sane length and a matching checksum, or the log is reported corrupt.
 */
public final class PmemLog {
    static final long MAGIC = 0x4b44504d454d4c47L; // "GLMEMPDK"
    static final long END = 8;
    static final long FIRST_RECORD = 64;
    private static final int RECORD_HEADER = 8;

    private final PmemRegion region;
    private long end;

    private PmemLog(PmemRegion region, long end) {
        this.region = region;
        this.end = end;
    }

    /** Opens the log in the region, formatting it when it holds no log yet; recovers the committed end. */
    public static PmemLog open(PmemRegion region) throws KernelException {
        if (region.getLong(0) != MAGIC) {
            region.putLongAtomic(END, FIRST_RECORD);
            region.persist(END, 8);
            region.putLongAtomic(0, MAGIC); // the magic last: a crash while formatting leaves no log
            region.persist(0, 8);
            return new PmemLog(region, FIRST_RECORD);
        }
        List<byte[]> records = recover(region.readOnlyView());
        long end = FIRST_RECORD;
        for (byte[] r : records) {
            end += size(r.length);
        }
        return new PmemLog(region, end);
    }

    /**
     * Appends a record durably: when this returns, the record survives any crash.
     *
     * @throws IllegalStateException when the log is full
     */
    public void append(byte[] payload) throws KernelException {
        long size = size(payload.length);
        if (end + size > region.byteSize()) {
            throw new IllegalStateException("the log is full: " + (region.byteSize() - end) + " bytes left, the record"
                    + " needs " + size);
        }
        region.putLong(end, (long) checksum(payload) << 32 | payload.length);
        region.copyFrom(payload, 0, payload.length, end + RECORD_HEADER);
        region.persist(end, RECORD_HEADER + payload.length);
        end += size;
        region.putLongAtomic(END, end);
        region.persist(END, 8);
    }

    /** The committed end: the offset after the last record. */
    public long end() {
        return end;
    }

    /**
     * Reads the committed records of a log image (an empty list when the image holds no log).
     *
     * @throws IllegalStateException when a committed record is torn or the end is out of range: corruption
     */
    public static List<byte[]> recover(MemorySegment image) {
        List<byte[]> records = new ArrayList<>();
        if (image.get(JAVA_LONG_UNALIGNED, 0) != MAGIC) {
            return records;
        }
        long end = image.get(JAVA_LONG_UNALIGNED, END);
        if (end < FIRST_RECORD || end > image.byteSize() || end % 8 != 0) {
            throw new IllegalStateException("corrupt log: committed end " + end + " is out of range");
        }
        for (long at = FIRST_RECORD; at < end; ) {
            int length = image.get(JAVA_INT_UNALIGNED, at);
            int crc = image.get(JAVA_INT_UNALIGNED, at + 4);
            if (length < 0 || at + size(length) > end) {
                throw new IllegalStateException("corrupt log: record at " + at + " claims " + length + " bytes");
            }
            byte[] payload = image.asSlice(at + RECORD_HEADER, length).toArray(JAVA_BYTE);
            if (checksum(payload) != crc) {
                throw new IllegalStateException("corrupt log: torn record at " + at + " (checksum mismatch)");
            }
            records.add(payload);
            at += size(length);
        }
        return records;
    }

    private static long size(int payloadLength) {
        return (RECORD_HEADER + payloadLength + 7) & -8L;
    }

    private static int checksum(byte[] payload) {
        CRC32C crc = new CRC32C();
        crc.update(payload);
        return (int) crc.getValue();
    }
}
