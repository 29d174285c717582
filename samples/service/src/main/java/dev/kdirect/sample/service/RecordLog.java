package dev.kdirect.sample.service;

import dev.kdirect.KernelException;
import dev.kdirect.pmem.PmemRegion;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Records appended to a file mapped as persistent memory. Layout: the end offset of the last committed record
 * (8 bytes at 0), then records, each its length (8 bytes) and its bytes. A record is persisted before the end
 * offset that commits it (an aligned 8-byte store, failure-atomic), so a crash leaves every record whole or absent.
 */
public final class RecordLog implements AutoCloseable {
    private static final long HEADER = Long.BYTES;

    private final PmemRegion region;

    private RecordLog(PmemRegion region) {
        this.region = region;
    }

    /**
     * Opens the log in {@code file}, created with {@code size} bytes (whole pages) if absent. On a DAX file system
     * it is MAP_SYNC persistent memory; elsewhere the page cache and msync (see {@link PmemRegion#granularity}).
     */
    public static RecordLog open(Path file, long size) throws KernelException {
        return new RecordLog(PmemRegion.map(file, size, false));
    }

    /** The region under the log: where its stores persist and at what granularity. */
    public PmemRegion region() {
        return region;
    }

    /** Appends a record and returns once it is persistent. */
    public void append(byte[] record) throws KernelException {
        long end = end();
        long next = end + Long.BYTES + align(record.length);
        if (next > region.byteSize()) {
            throw new IllegalStateException("the log is full: " + record.length + " bytes do not fit after "
                    + end + " of " + region.byteSize());
        }
        region.putLong(end, record.length);
        region.copyFrom(record, 0, record.length, end + Long.BYTES);
        region.persist(end, next - end);
        region.putLongAtomic(0, next);
        region.persist(0, HEADER);
    }

    /** Every committed record, oldest first. */
    public List<byte[]> records() {
        List<byte[]> records = new ArrayList<>();
        for (long at = HEADER, end = end(); at < end; ) {
            byte[] record = new byte[Math.toIntExact(region.getLong(at))];
            region.copyTo(at + Long.BYTES, record, 0, record.length);
            records.add(record);
            at += Long.BYTES + align(record.length);
        }
        return records;
    }

    private long end() {
        long end = region.getLong(0);
        return end == 0 ? HEADER : end; // a new file is zeroes: no record yet
    }

    /** Records start 8-byte aligned, so the next record's length and the end offset are aligned stores. */
    private static long align(long length) {
        return (length + Long.BYTES - 1) & -Long.BYTES;
    }

    @Override
    public void close() throws KernelException {
        region.close();
    }
}
