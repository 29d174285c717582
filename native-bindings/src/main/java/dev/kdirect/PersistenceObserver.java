package dev.kdirect;

import dev.kdirect.backend.BackendKernel;
import dev.kdirect.backend.simulated.SimulatedBackend;
import java.lang.foreign.MemorySegment;

/**
 * What the simulated machine does to make memory durable, told to a model of that memory (the pmem module's
 * crash-consistency model): the CPU's cache-line write-backs and fences, and the kernel's msync. Plain stores are
 * not told: the simulated CPU cannot see a Java store, so the feature's accessors report those to the model.
 * Offsets are relative to the observed memory.
 */
public interface PersistenceObserver {
    /**
     * CLWB (or CLFLUSHOPT) of the 64-byte lines {@code [offset, offset + length)}, line aligned and clipped to the
     * observed memory: the lines' current content is on its way to the media, there once a fence completes.
     * Told only for persistent memory: a write-back of a page-cache page reaches DRAM, which a crash loses.
     */
    void writtenBack(long offset, long length);

    /** SFENCE: every write-back issued before it has completed (the simulated machine has one CPU). */
    void fenced();

    /**
     * msync(MS_SYNC) wrote the file's pages {@code [offset, offset + length)} back and waited for them
     * (mm/msync.c calls vfs_fsync_range for a shared file mapping; on DAX that writes back the CPU caches).
     */
    void synced(long offset, long length);

    /**
     * The machine lost power: whatever was not yet persistent (stored but not written back and fenced, or not
     * msynced) is lost, and the memory holds what reached the media. Told by
     * {@code dev.kdirect.testing.SimulatedMachine#cutPower}.
     */
    void powerCut();

    /** Stops the observation. */
    interface Observation extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Tells {@code observer} what the simulated {@code kernel} does to {@code memory}: a simulated file mapping
     * (persistent memory on a simulated DAX mount, page cache elsewhere) or memory it did not map, which stands
     * for persistent memory (the crash tester's).
     *
     * @throws IllegalArgumentException when {@code kernel} is not a simulated kernel
     */
    static Observation observe(Kernel kernel, MemorySegment memory, PersistenceObserver observer) {
        if (kernel instanceof BackendKernel backendKernel && backendKernel.backend() instanceof SimulatedBackend sim) {
            return sim.observePersistence(memory.address(), memory.byteSize(), observer)::run;
        }
        throw new IllegalArgumentException(kernel + " is not a simulated kernel: only the model can be observed");
    }
}
