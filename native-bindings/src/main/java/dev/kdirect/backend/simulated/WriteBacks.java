package dev.kdirect.backend.simulated;

import dev.kdirect.PersistenceObserver;
import java.util.ArrayList;
import java.util.List;

/**
 * The simulated machine's paths to durability, delivered to the {@link PersistenceObserver}s of the memory they
 * touch: the CPU's line write-backs and fences, and msync's write-back of file pages.
 */
final class WriteBacks {
    /** x86's cache line, the unit of CLWB and CLFLUSHOPT. */
    static final long LINE = 64;

    private record Observed(long start, long end, boolean persistentMemory, PersistenceObserver observer) {
    }

    private final List<Observed> observed = new ArrayList<>();

    /**
     * @param persistentMemory false for a page-cache mapping, whose cache-line write-backs are not told
     * @return what stops the observation
     */
    synchronized Runnable observe(long start, long length, boolean persistentMemory, PersistenceObserver observer) {
        Observed o = new Observed(start, start + length, persistentMemory, observer);
        observed.add(o);
        return () -> {
            synchronized (this) {
                observed.remove(o);
            }
        };
    }

    /** CLWB of every line holding a byte of {@code [address, address + length)} (libpmem's pmem_flush loop). */
    void writeBack(long address, long length) {
        if (length > 0) {
            deliver(address & -LINE, (address + length + LINE - 1) & -LINE, true, PersistenceObserver::writtenBack);
        }
    }

    /** SFENCE. */
    void fence() {
        for (Observed o : snapshot()) {
            o.observer.fenced();
        }
    }

    /** The power fails: every observer loses what is not yet persistent. */
    void powerCut() {
        for (Observed o : snapshot()) {
            o.observer.powerCut();
        }
    }

    /** msync(MS_SYNC) wrote back the file pages mapped at {@code [start, end)}. */
    void synced(long start, long end) {
        deliver(start, end, false, PersistenceObserver::synced);
    }

    private interface Delivery {
        void to(PersistenceObserver observer, long offset, long length);
    }

    private void deliver(long start, long end, boolean onlyPersistentMemory, Delivery delivery) {
        for (Observed o : snapshot()) {
            long from = Math.max(start, o.start);
            long to = Math.min(end, o.end);
            if (from < to && (o.persistentMemory || !onlyPersistentMemory)) {
                delivery.to(o.observer, from - o.start, to - from);
            }
        }
    }

    private synchronized List<Observed> snapshot() {
        return List.copyOf(observed);
    }
}
