package dev.kdirect.fuzz;

import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.BitSet;

/**
 * One mapping a fuzzer's program made, and which of its pages are still mapped: what the world unmaps on close, and
 * where another thread of this JVM may have mapped memory since the program unmapped a page.
 */
class MappedPages {
    static final long PAGE = 4096;

    final MemorySegment base;
    /** Bytes, a whole number of pages. */
    final long length;
    private final BitSet mapped = new BitSet();

    MappedPages(MemorySegment base, long length) {
        this.base = base;
        this.length = length;
        mapped.set(0, (int) (length / PAGE));
    }

    /** The byte range {@code [from, from + length)} clipped to the mapping ({@code from} within it). */
    long clip(long from, long length) {
        return Math.max(0, Math.min(length, this.length - from));
    }

    /** The bytes {@code [from, from + length)} of the mapping, both ends clipped to it. */
    MemorySegment slice(long from, long length) {
        long start = Math.min(from, this.length);
        return base.asSlice(start, clip(start, length));
    }

    boolean isMapped(int page) {
        return mapped.get(page);
    }

    boolean allMapped(long from, long to) {
        for (long page = from / PAGE; page * PAGE < to; page++) {
            if (!mapped.get((int) page)) {
                return false;
            }
        }
        return true;
    }

    /** Records an munmap of the page-aligned range {@code [from, from + length)}. */
    void unmapped(long from, long length) {
        mapped.clear((int) (from / PAGE), (int) ((from + length) / PAGE));
    }

    /** Unmaps, page by page, what the program left mapped. */
    void unmapRest(Kernel kernel) throws KernelException {
        for (int page = mapped.nextSetBit(0); page >= 0; page = mapped.nextSetBit(page + 1)) {
            kernel.munmap(base.asSlice(page * PAGE), PAGE);
        }
        mapped.clear();
    }

    /**
     * Why a call over {@code [from, to)} cannot run on the real kernel: the range takes in pages the program unmapped
     * and another thread of this JVM mapped memory there since. Null where it can.
     */
    String reusedHole(long from, long to) throws IOException {
        if (allMapped(from, to)) {
            return null;
        }
        return ProcessMaps.anythingMapped(base.address() + from, base.address() + to)
                ? "another thread mapped memory into a hole the program made" : null;
    }
}
