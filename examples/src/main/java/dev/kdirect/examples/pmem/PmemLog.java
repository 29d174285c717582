package dev.kdirect.examples.pmem;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import dev.kdirect.KernelException;
import dev.kdirect.pmem.PmemRegion;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * A crash-consistent append-only log on persistent memory, format v2. Layout (little-endian):
 * <ul>
 *   <li>header, line 0: magic {@code "KDPMLOG2"} at 0, version (u32) at 8, flags (u32, 0) at 12, capacity (the
 *       file's size, u64) at 16, CRC-32C of bytes 0..24 (u32) at 24;</li>
 *   <li>two commit slots, lines 1 and 2 (offsets 64 and 128): sequence (u64), committed end (u64), record count
 *       (u64), CRC-32C of the slot's number and those 24 bytes (u32). Commit {@code s} goes to slot
 *       {@code s % 2}, so a slot torn by a crash leaves the other, one commit older, whole;</li>
 *   <li>records from offset 192: length (u32, at least 1), CRC-32C (u32) of the record's offset, length, sequence
 *       and payload, sequence (u64, the record's number from 0), payload, padded to 8 bytes. The CRC covers where
 *       the record is and which it is, so a zeroed range or a record moved elsewhere never checks.</li>
 * </ul>
 *
 * <p>An append writes the record past the committed end and persists it, then writes the next commit slot and
 * persists that. Recovery trusts nothing it has not checked: the header, the newest slot that checks, every
 * record up to its end (lengths, sequence numbers, CRCs); anything else is a {@link DamagedLogException}, and
 * {@link #salvage} says what can still be read. Opening formats only a file that is all zero.
 */
public final class PmemLog {
    /** Format v1's magic ("GLMEMPDK"), recognised to refuse it: v1 could not tell a zeroed range from records. */
    static final long MAGIC_V1 = 0x4b44504d454d4c47L;
    static final long MAGIC = 0x32474f4c4d50444bL; // "KDPMLOG2"
    static final int VERSION = 2;
    static final long CAPACITY = 16;
    static final long HEADER_CRC = 24;
    static final long[] SLOTS = {64, 128};
    static final long SLOT_BYTES = 32;
    static final long FIRST_RECORD = 192;
    static final int RECORD_HEADER = 16;

    private final PmemRegion region;
    private final Recovery opened;
    private long end;
    private long count;
    private long sequence;

    private PmemLog(PmemRegion region, Recovery opened) {
        this.region = region;
        this.opened = opened;
        this.end = opened.end();
        this.count = opened.records().size();
        this.sequence = opened.sequence();
    }

    /**
     * Opens the log in the region: formats a region that is all zero, recovers any other.
     *
     * @throws DamagedLogException when the region holds anything but a log that checks (nothing is written then)
     */
    public static PmemLog open(PmemRegion region) throws KernelException, DamagedLogException {
        MemorySegment image = region.readOnlyView();
        if (image.byteSize() < FIRST_RECORD + RECORD_HEADER + 8) {
            throw new IllegalArgumentException("a log needs at least " + (FIRST_RECORD + RECORD_HEADER + 8)
                    + " bytes, not " + image.byteSize());
        }
        if (allZero(image, 0)) {
            return format(region);
        }
        Recovery r = recover(image);
        if (r.blank()) {
            throw new DamagedLogException("it holds no log header, but its first " + FIRST_RECORD + " bytes are"
                    + " not all zero: a format cut short by a crash (no record was ever in it: remove the file and"
                    + " run again), or not a kdirect log at all", false);
        }
        return new PmemLog(region, r);
    }

    private static PmemLog format(PmemRegion region) throws KernelException {
        long capacity = region.byteSize();
        region.putLong(8, VERSION); // flags (the upper half) 0
        region.putLong(CAPACITY, capacity);
        region.putLong(HEADER_CRC, Integer.toUnsignedLong(headerChecksum(capacity)));
        PmemLog log = new PmemLog(region, new Recovery(List.of(), FIRST_RECORD, 0, false, 0, true));
        log.writeSlot(); // commits 0 and 1: both slots hold the empty log
        log.sequence = 1;
        log.writeSlot();
        region.persist(0, FIRST_RECORD);
        region.putLongAtomic(0, MAGIC); // the magic last: a crash while formatting leaves no log header
        region.persist(0, 8);
        return log;
    }

    /**
     * Appends a record durably: when this returns, the record survives any crash.
     *
     * @throws IllegalArgumentException when the payload is empty
     * @throws LogFullException when the record does not fit
     */
    public void append(byte[] payload) throws KernelException {
        if (payload.length == 0) {
            throw new IllegalArgumentException("a record holds at least one byte: an empty one would read like"
                    + " zeroed space");
        }
        long size = size(payload.length);
        if (size > region.byteSize() - end) {
            throw new LogFullException(count, region.byteSize() - end, size);
        }
        region.putLong(end, Integer.toUnsignedLong(recordChecksum(end, payload.length, count, payload)) << 32
                | payload.length);
        region.putLong(end + 8, count);
        region.copyFrom(payload, 0, payload.length, end + RECORD_HEADER);
        region.persist(end, RECORD_HEADER + payload.length);
        end += size;
        count++;
        sequence++;
        writeSlot();
        region.persist(SLOTS[(int) (sequence % 2)], SLOT_BYTES);
    }

    /** What opening found: the records then, and whether it fell back to the older commit (none when formatted). */
    public Recovery opened() {
        return opened;
    }

    /** The committed end: the offset after the last record. */
    public long end() {
        return end;
    }

    /** The committed records. */
    public long count() {
        return count;
    }

    private void writeSlot() {
        int slot = (int) (sequence % 2);
        long at = SLOTS[slot];
        region.putLong(at, sequence);
        region.putLong(at + 8, end);
        region.putLong(at + 16, count);
        region.putLong(at + 24, Integer.toUnsignedLong(slotChecksum(slot, sequence, end, count)));
    }

    /**
     * What recovery found in a log image.
     *
     * @param records the committed records, in order
     * @param end the committed end
     * @param sequence the commit it ends at
     * @param fellBack the other commit slot failed its check, so this is the commit before the newest written:
     *     after a crash during a commit that is the last acknowledged one; after damage to the newest slot, one
     *     acknowledged record is past the end ({@code wholePastEnd})
     * @param wholePastEnd records past the end that check: written but not committed (or committed in a damaged
     *     slot)
     * @param blank no log header and nothing from offset 192 on: a file never formatted (all zero) or a format cut
     *     short
     */
    public record Recovery(List<byte[]> records, long end, long sequence, boolean fellBack, int wholePastEnd,
            boolean blank) {
    }

    /**
     * Reads the committed records of a log image (none when the image holds no log: all zero, or a format cut
     * short before anything was appended). Reads only.
     *
     * @throws DamagedLogException when anything fails its check: the header, both commit slots, a record up to
     *     the committed end; or the image is a format v1 log
     */
    public static Recovery recover(MemorySegment image) throws DamagedLogException {
        long size = image.byteSize();
        long magic = image.get(JAVA_LONG_UNALIGNED, 0);
        if (magic == MAGIC_V1) {
            throw new DamagedLogException("it is a format v1 log, which this kdirect no longer reads (v1 took zeroed"
                    + " space for records and had no checksum on its end): read it with the kdirect that wrote it,"
                    + " or start a new log in another file", true);
        }
        if (magic == 0 && allZero(image, FIRST_RECORD)) {
            return new Recovery(List.of(), FIRST_RECORD, 0, false, 0, true);
        }
        String header = headerProblem(image);
        if (header != null) {
            throw new DamagedLogException(header, false);
        }
        Slot a = Slot.read(image, 0);
        Slot b = Slot.read(image, 1);
        if (a == null && b == null) {
            throw new DamagedLogException("both commit slots (offsets 64 and 128) fail their checks: the committed"
                    + " end is unknown", false);
        }
        Slot newest = a == null || (b != null && b.sequence > a.sequence) ? b : a;
        Slot older = newest == a ? b : a;
        if (older != null && (newest.sequence - older.sequence != 1 || older.end > newest.end
                || newest.count - older.count > 1)) {
            throw new DamagedLogException("the commit slots disagree: commit " + older.sequence + " ends at "
                    + older.end + " with " + older.count + " records, commit " + newest.sequence + " at " + newest.end
                    + " with " + newest.count, false);
        }
        List<byte[]> records = new ArrayList<>();
        long at = FIRST_RECORD;
        for (long i = 0; i < newest.count; i++) {
            Record r = Record.read(image, at, newest.end);
            if (r == null || r.sequence != i) {
                throw new DamagedLogException("record " + i + " at offset " + at + " fails its check (" + (r == null
                        ? Record.why(image, at, newest.end) : "it holds record " + r.sequence) + ")", false);
            }
            records.add(r.payload);
            at += size(r.payload.length);
        }
        if (at != newest.end) {
            throw new DamagedLogException("commit " + newest.sequence + " ends at " + newest.end + " but its "
                    + newest.count + " records end at " + at, false);
        }
        int past = 0;
        if (older == null) {
            for (Record r; (r = Record.read(image, at, size)) != null && r.sequence == newest.count + past; past++) {
                at += size(r.payload.length);
            }
        }
        return new Recovery(records, newest.end, newest.sequence, older == null, past, false);
    }

    /**
     * What can be read from a damaged image, found by reading only: every record that checks where it lies,
     * whatever the header and the slots say.
     *
     * @param records the records that check, by sequence number
     * @param committed the record count of the newest commit slot that checks, -1 when none does
     * @param lost sequence numbers below {@code committed} (or below the highest record found) with no record
     *     that checks
     * @param problems what failed its check
     */
    public record Salvage(List<SalvagedRecord> records, long committed, List<Long> lost, List<String> problems) {
    }

    /** A record salvage found: its sequence number, offset and payload. */
    public record SalvagedRecord(long sequence, long offset, byte[] payload) {
    }

    /** Scans a log image for the records that check (reads only). */
    public static Salvage salvage(MemorySegment image) {
        List<String> problems = new ArrayList<>();
        long magic = image.get(JAVA_LONG_UNALIGNED, 0);
        if (magic == MAGIC_V1) {
            return new Salvage(List.of(), -1, List.of(), List.of("format v1: salvage reads format v2 only"));
        }
        String header = headerProblem(image);
        if (header != null) {
            problems.add(header);
        }
        Slot newest = null;
        for (int s = 0; s < 2; s++) {
            Slot slot = Slot.read(image, s);
            if (slot == null) {
                problems.add("commit slot " + s + " (offset " + SLOTS[s] + ") fails its check");
            } else if (newest == null || slot.sequence > newest.sequence) {
                newest = slot;
            }
        }
        List<SalvagedRecord> records = new ArrayList<>();
        List<Long> lost = new ArrayList<>();
        long next = 0;
        for (long at = FIRST_RECORD; at <= image.byteSize() - RECORD_HEADER - 8; ) {
            Record r = Record.read(image, at, image.byteSize());
            if (r == null || r.sequence < next) {
                at += 8;
                continue;
            }
            if (r.sequence > next) {
                problems.add("records " + next + " to " + (r.sequence - 1) + " are missing before offset " + at);
            }
            for (long s = next; s < r.sequence; s++) {
                lost.add(s);
            }
            records.add(new SalvagedRecord(r.sequence, at, r.payload));
            next = r.sequence + 1;
            at += size(r.payload.length);
        }
        long committed = newest == null ? -1 : newest.count;
        for (long s = next; s < committed; s++) {
            lost.add(s);
        }
        return new Salvage(records, committed, lost, problems);
    }

    private record Slot(long sequence, long end, long count) {
        /** The slot if it checks: CRC, the slot the sequence number belongs in, an end inside the image. */
        static Slot read(MemorySegment image, int slot) {
            long at = SLOTS[slot];
            long sequence = image.get(JAVA_LONG_UNALIGNED, at);
            long end = image.get(JAVA_LONG_UNALIGNED, at + 8);
            long count = image.get(JAVA_LONG_UNALIGNED, at + 16);
            long crc = image.get(JAVA_LONG_UNALIGNED, at + 24);
            boolean sane = sequence >= 0 && sequence % 2 == slot && end >= FIRST_RECORD && end <= image.byteSize()
                    && end % 8 == 0 && count >= 0 && count <= (end - FIRST_RECORD) / (RECORD_HEADER + 8);
            return sane && crc == Integer.toUnsignedLong(slotChecksum(slot, sequence, end, count))
                    ? new Slot(sequence, end, count) : null;
        }
    }

    private record Record(long sequence, byte[] payload) {
        /** The record at {@code at} if it lies wholly before {@code limit} and checks, else null. */
        static Record read(MemorySegment image, long at, long limit) {
            long length = at > limit - RECORD_HEADER ? 0 : Integer.toUnsignedLong(image.get(JAVA_INT_UNALIGNED, at));
            if (length == 0 || length > limit - at - RECORD_HEADER) {
                return null;
            }
            long sequence = image.get(JAVA_LONG_UNALIGNED, at + 8);
            byte[] payload = image.asSlice(at + RECORD_HEADER, length).toArray(JAVA_BYTE);
            return recordChecksum(at, (int) length, sequence, payload) == image.get(JAVA_INT_UNALIGNED, at + 4)
                    ? new Record(sequence, payload) : null;
        }

        /** Why {@link #read} found no record at {@code at} before {@code limit}. */
        static String why(MemorySegment image, long at, long limit) {
            if (at > limit - RECORD_HEADER) {
                return "no room for a record header";
            }
            long length = Integer.toUnsignedLong(image.get(JAVA_INT_UNALIGNED, at));
            if (length == 0) {
                return "length 0";
            }
            if (length > limit - at - RECORD_HEADER) {
                return "length " + length + " runs past " + limit;
            }
            return "its CRC-32C does not match";
        }
    }

    /** Null when the header checks: the v2 magic, its CRC, version 2 and the image's size as the capacity. */
    private static String headerProblem(MemorySegment image) {
        long magic = image.get(JAVA_LONG_UNALIGNED, 0);
        if (magic != MAGIC) {
            return magic == 0 ? "the header's magic is zero, but records follow: the header was overwritten"
                    : String.format("it is not a kdirect log (magic 0x%016x, expected 0x%016x)", magic, MAGIC);
        }
        long capacity = image.get(JAVA_LONG_UNALIGNED, CAPACITY);
        if (image.get(JAVA_LONG_UNALIGNED, HEADER_CRC) != Integer.toUnsignedLong(headerChecksum(capacity))
                || image.get(JAVA_LONG_UNALIGNED, 8) != VERSION) {
            return "the header (offset 0 to 32) fails its checksum";
        }
        if (capacity != image.byteSize()) {
            return "the header says the log is " + capacity + " bytes, but the file holds " + image.byteSize();
        }
        return null;
    }

    private static boolean allZero(MemorySegment image, long from) {
        long size = image.byteSize();
        long words = from;
        for (; words + 8 <= size; words += 8) {
            if (image.get(JAVA_LONG_UNALIGNED, words) != 0) {
                return false;
            }
        }
        for (long at = words; at < size; at++) {
            if (image.get(JAVA_BYTE, at) != 0) {
                return false;
            }
        }
        return true;
    }

    /** A record's bytes in the log: header and payload, padded to 8. */
    static long size(long payloadLength) {
        return (RECORD_HEADER + payloadLength + 7) & -8L;
    }

    private static int headerChecksum(long capacity) {
        return checksum(ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN).putLong(MAGIC).putLong(VERSION)
                .putLong(capacity), null);
    }

    private static int slotChecksum(int slot, long sequence, long end, long count) {
        return checksum(ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN).putInt(slot).putLong(sequence)
                .putLong(end).putLong(count), null);
    }

    static int recordChecksum(long offset, int length, long sequence, byte[] payload) {
        return checksum(ByteBuffer.allocate(20).order(ByteOrder.LITTLE_ENDIAN).putLong(offset).putInt(length)
                .putLong(sequence), payload);
    }

    private static int checksum(ByteBuffer fields, byte[] payload) {
        CRC32C crc = new CRC32C();
        crc.update(fields.flip());
        if (payload != null) {
            crc.update(payload);
        }
        return (int) crc.getValue();
    }
}
