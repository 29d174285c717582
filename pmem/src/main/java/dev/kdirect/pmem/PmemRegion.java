package dev.kdirect.pmem;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import dev.kdirect.Binding;
import dev.kdirect.Errno;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.Kernels;
import dev.kdirect.MapFlags;
import dev.kdirect.PersistenceObserver;
import dev.kdirect.Prot;
import dev.kdirect.UnsafeFileException;
import dev.kdirect.UserFiles;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * A file mapped as persistent memory. On a DAX file system the mapping is MAP_SHARED_VALIDATE|MAP_SYNC: stores go
 * to the media through the CPU caches, and {@link #flush} (cache-line write-back) plus {@link #drain} (a fence)
 * make them persistent, with no syscall and no page cache. Elsewhere MAP_SYNC fails with EOPNOTSUPP and, unless
 * the region is mapped strictly, kdirect maps the file MAP_SHARED and {@link #flush} becomes msync(2) of the
 * pages: the same program, with page granularity and a syscall per flush. {@link #granularity()} says which.
 *
 * <p>Stores go through the accessors ({@link #putLong}, {@link #copyFrom}, ...), so the simulated kernel's
 * crash-consistency model sees them (and sees the write-backs, fences and msyncs through the simulated kernel,
 * which executes them); 8-byte aligned stores ({@link #putLongAtomic}) are failure-atomic. Reads may also use
 * {@link #readOnlyView()}.
 */
public final class PmemRegion implements AutoCloseable {
    private static final VarHandle LONG = java.lang.foreign.ValueLayout.JAVA_LONG.varHandle();
    private static final long LINE = PersistenceModel.LINE;

    private final Kernel kernel;
    private final MemorySegment memory;
    private final Granularity granularity;
    private final String reason;
    private final PersistenceModel model; // null on the real kernel
    private final PersistenceObserver.Observation observation; // the model's, null on the real kernel
    private final boolean owned;
    private boolean closed;

    private PmemRegion(Kernel kernel, MemorySegment memory, Granularity granularity, String reason,
            PersistenceModel model, boolean owned) {
        this.kernel = kernel;
        this.memory = memory;
        this.granularity = granularity;
        this.reason = reason;
        this.model = model;
        this.observation = model == null ? null : PersistenceObserver.observe(kernel, memory, model);
        this.owned = owned;
    }

    /**
     * Maps {@code file} (created and pre-allocated to {@code size} bytes if needed) on the kernel for
     * {@link Feature#DAX_PMEM}.
     *
     * @param strict refuse the msync fallback: fail unless the file is on a DAX file system
     */
    public static PmemRegion map(Path file, long size, boolean strict) throws KernelException {
        return map(Kernels.forFeature(Feature.DAX_PMEM), file, size, strict);
    }

    /**
     * Maps {@code file} on a given kernel. The file is opened as {@link UserFiles#openOrCreate} does: never through
     * a symbolic link, created with O_EXCL, and refused when it exists but is not a regular file of the caller's.
     *
     * @throws IllegalArgumentException when {@code size} is not a positive multiple of the page size
     * @throws UnsafeFileException when the path is a symbolic link, not a regular file, or another user's file
     * @throws KernelException EOPNOTSUPP in strict mode when the file is not on a DAX file system (the hint says
     *     how to mount one), ENOSPC when the file cannot be pre-allocated, EACCES, ENOENT, ...
     */
    public static PmemRegion map(Kernel kernel, Path file, long size, boolean strict) throws KernelException {
        long page = kernel.pageSize();
        if (size <= 0 || size % page != 0) {
            throw new IllegalArgumentException("a persistent memory region is whole pages: " + size
                    + " bytes is not a positive multiple of " + page);
        }
        int fd = UserFiles.openOrCreate(kernel, file).fd();
        try {
            kernel.fallocate(fd, 0, 0, size); // blocks now, so a store can never fault for lack of space
            try {
                MemorySegment sync = kernel.mmap(MemorySegment.NULL, size, Prot.READ_WRITE,
                        MapFlags.SHARED_VALIDATE | MapFlags.SYNC, fd, 0);
                if (!kernel.binding().isReal()) {
                    return create(kernel, sync, Granularity.CACHE_LINE, "SIMULATED: MAP_SYNC on a simulated DAX"
                            + " mount (-D" + Kernels.SIMULATED_DAX_PROPERTY + "), a model of persistent memory: the"
                            + " file is on " + file.getParent() + ", not on persistent memory");
                }
                boolean eadr = PersistenceDomain.isCpuCache();
                return create(kernel, sync, eadr ? Granularity.BYTE : Granularity.CACHE_LINE, eadr
                        ? "MAP_SYNC on DAX, and every NVDIMM region's persistence_domain is cpu_cache (eADR)"
                        : "MAP_SYNC on DAX: stores persist after a cache-line write-back and a fence");
            } catch (KernelException e) {
                if (!e.is(Errno.EOPNOTSUPP)) {
                    throw e;
                }
                if (strict) {
                    throw new KernelException(e.errno(), "mmap", "file=" + file + ", flags=SHARED_VALIDATE|SYNC",
                            file + " is not on a DAX file system, and this region was mapped strictly: put it on"
                                    + " a file system mounted with -o dax over an fsdax namespace (ndctl"
                                    + " create-namespace -m fsdax), or map it without strict to accept msync");
                }
                MemorySegment paged = kernel.mmap(MemorySegment.NULL, size, Prot.READ_WRITE, MapFlags.SHARED, fd, 0);
                return create(kernel, paged, Granularity.PAGE,
                        "not DAX (MAP_SYNC: EOPNOTSUPP): the page cache holds stores until msync");
            }
        } finally {
            kernel.close(fd);
        }
    }

    private static PmemRegion create(Kernel kernel, MemorySegment memory, Granularity granularity, String reason) {
        return new PmemRegion(kernel, memory, granularity, reason, modelFor(kernel, memory), true);
    }

    private static PersistenceModel modelFor(Kernel kernel, MemorySegment memory) {
        return kernel.binding() == Binding.SIMULATED ? new PersistenceModel(memory, (m, label) -> { }) : null;
    }

    /**
     * A region over memory the caller mapped and keeps mapped (a device DAX mapping, or a file mapping whose flush
     * path is to be measured), persisted at the granularity the caller says holds for it. Closing the region does
     * not unmap the memory.
     */
    public static PmemRegion ofMapped(Kernel kernel, MemorySegment memory, Granularity granularity, String reason) {
        return new PmemRegion(kernel, memory, granularity, reason, modelFor(kernel, memory), false);
    }

    /** A region over memory the crash tester owns (not mapped by {@code kernel}), tracked by its model. */
    static PmemRegion simulated(Kernel kernel, MemorySegment memory, PersistenceModel model) {
        return new PmemRegion(kernel, memory, Granularity.CACHE_LINE, "the crash tester's simulated persistent memory",
                model, false);
    }

    /** The kernel the region is mapped on. */
    public Kernel kernel() {
        return kernel;
    }

    /**
     * Which kernel this region is on: a real binding, or {@link Binding#SIMULATED} (a model: no enforcement
     * by the hardware or the kernel).
     */
    public Binding binding() {
        return kernel.binding();
    }

    /** How stores become persistent here. */
    public Granularity granularity() {
        return granularity;
    }

    /** Why the granularity is what it is. */
    public String granularityReason() {
        return reason;
    }

    /** The region's size in bytes. */
    public long byteSize() {
        return memory.byteSize();
    }

    /** The region's memory, read-only: writes must go through the accessors. */
    public MemorySegment readOnlyView() {
        return memory.asReadOnly();
    }

    public byte getByte(long offset) {
        return memory.get(JAVA_BYTE, offset);
    }

    public long getLong(long offset) {
        return memory.get(JAVA_LONG_UNALIGNED, offset);
    }

    public void copyTo(long offset, byte[] target, int targetIndex, int length) {
        MemorySegment.copy(memory, JAVA_BYTE, offset, target, targetIndex, length);
    }

    /** A plain store of 8 bytes: not failure-atomic unless aligned (see {@link #putLongAtomic}). */
    public void putLong(long offset, long value) {
        memory.set(JAVA_LONG_UNALIGNED, offset, value);
        stored(offset, Long.BYTES);
    }

    /**
     * An 8-byte store at an 8-byte aligned offset, which reaches the media whole or not at all (x86-64's
     * failure atomicity); a volatile store, so the compiler keeps its order with earlier stores.
     *
     * @throws IllegalArgumentException when {@code offset} is not a multiple of 8
     */
    public void putLongAtomic(long offset, long value) {
        if ((offset & 7) != 0) {
            throw new IllegalArgumentException("an atomic 8-byte store needs an offset that is a multiple of 8, not "
                    + offset);
        }
        LONG.setVolatile(memory, offset, value);
        stored(offset, Long.BYTES);
    }

    public void putByte(long offset, byte value) {
        memory.set(JAVA_BYTE, offset, value);
        stored(offset, 1);
    }

    public void copyFrom(byte[] source, int sourceIndex, int length, long offset) {
        MemorySegment.copy(source, sourceIndex, memory, JAVA_BYTE, offset, length);
        stored(offset, length);
    }

    /**
     * Writes back the range: the cache lines covering it (CACHE_LINE), nothing (BYTE), or the pages covering it
     * with msync(MS_SYNC) (PAGE, which also waits).
     *
     * @throws IndexOutOfBoundsException when the range is not inside the region
     */
    public void flush(long offset, long length) throws KernelException {
        Objects.checkFromIndexSize(offset, length, memory.byteSize());
        if (length == 0) {
            return;
        }
        switch (granularity) {
            case CACHE_LINE -> kernel.cacheLineWriteback(lines(offset, length));
            case PAGE -> {
                long page = kernel.pageSize();
                long start = offset & -page;
                kernel.msync(memory.asSlice(start), Math.min(memory.byteSize(), offset + length) - start,
                        dev.kdirect.Kernel.MS_SYNC);
            }
            case BYTE -> {
                // eADR: the caches are persistent already
            }
        }
    }

    /** Waits until everything flushed before is persistent (sfence); nothing to wait for with msync. */
    public void drain() {
        if (granularity != Granularity.PAGE) {
            kernel.storeFence();
        }
    }

    /** {@link #flush} then {@link #drain}; one libpmem call (pmem_persist) on cache-line granularity. */
    public void persist(long offset, long length) throws KernelException {
        if (granularity == Granularity.CACHE_LINE) {
            Objects.checkFromIndexSize(offset, length, memory.byteSize());
            kernel.cacheLinePersist(lines(offset, length));
            return;
        }
        flush(offset, length);
        drain();
    }

    /** Copies {@code source} to {@code offset} and persists it. */
    public void copyAndPersist(byte[] source, long offset) throws KernelException {
        copyFrom(source, 0, source.length, offset);
        persist(offset, source.length);
    }

    /** Unmaps the region. Stores not persisted before may be lost, as at a crash. */
    @Override
    public synchronized void close() throws KernelException {
        if (!closed && observation != null) {
            observation.close();
        }
        if (!closed && owned) {
            kernel.munmap(memory, memory.byteSize());
        }
        closed = true;
    }

    /** The simulated kernel's model of this region's persistence; null on the real kernel. */
    PersistenceModel model() {
        return model;
    }

    /** The whole cache lines covering the range (inside the region). */
    private MemorySegment lines(long offset, long length) {
        long start = offset & -LINE;
        long end = length == 0 ? start : Math.min(memory.byteSize(), (offset + length + LINE - 1) & -LINE);
        return memory.asSlice(start, end - start);
    }

    private void stored(long offset, long length) {
        if (model != null) {
            model.stored(offset, length);
        }
    }

    /** PMDK's rule for eADR: every NVDIMM region reports its persistence domain as the CPU cache. */
    static final class PersistenceDomain {
        private PersistenceDomain() {
        }

        static boolean isCpuCache() {
            try (var regions = Files.list(Path.of("/sys/bus/nd/devices"))) {
                List<Path> domains = regions.filter(p -> p.getFileName().toString().startsWith("region"))
                        .map(p -> p.resolve("persistence_domain")).filter(Files::isReadable).toList();
                if (domains.isEmpty()) {
                    return false;
                }
                for (Path d : domains) {
                    if (!Files.readString(d).trim().equals("cpu_cache")) {
                        return false;
                    }
                }
                return true;
            } catch (IOException e) {
                return false;
            }
        }
    }
}
