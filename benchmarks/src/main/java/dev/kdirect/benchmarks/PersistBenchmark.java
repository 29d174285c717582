package dev.kdirect.benchmarks;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.Kernels;
import dev.kdirect.MapFlags;
import dev.kdirect.Prot;
import dev.kdirect.UserFiles;
import dev.kdirect.pmem.Granularity;
import dev.kdirect.pmem.PmemRegion;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Storing {@code size} bytes (a prepared array, always to the same page-aligned offset) and making them
 * persistent, on the real kernel through the FFM binding, four ways in one run:
 * <ul>
 *   <li>{@link #kdirect}: {@link PmemRegion#copyFrom} then {@link PmemRegion#persist} on a region mapped strictly
 *       (MAP_SYNC) on a file in the DAX directory: pmem_flush and pmem_drain of libpmem through kdirect's
 *       {@link Kernel}.</li>
 *   <li>{@link #libpmem}: the same store into another MAP_SYNC mapping in the DAX directory, then libpmem's own
 *       {@code pmem_persist(addr, len)} through a bare critical FFM downcall handle linked here.</li>
 *   <li>{@link #msync}: the same store into a file in the DAX directory mapped MAP_SHARED without MAP_SYNC, then
 *       msync(MS_SYNC) of the pages covering it through {@link Kernel#msync}: what persisting costs on the same
 *       media for a program that does not use MAP_SYNC (the kernel writes back the dirty pages' cache lines,
 *       write-protects them again and syncs the file).</li>
 *   <li>{@link #msyncTmpfs}: {@link PmemRegion#persist} on a region mapped (not strictly) on a file in
 *       {@code java.io.tmpdir}, tmpfs in the QEMU guest, so its granularity is PAGE and persist is msync(MS_SYNC)
 *       of the pages: the syscall alone, since tmpfs has nothing to write back.</li>
 * </ul>
 * And three on any machine with libpmem, on one MAP_SHARED mapping of a page-cache file (DRAM behind it, so they
 * time the flush path, not the media): {@link #hostKdirect} ({@link PmemRegion#ofMapped} at CACHE_LINE
 * granularity: copyFrom then persist, pmem_persist through kdirect's {@link Kernel}), {@link #hostLibpmem} (the
 * same copy, then libpmem's pmem_persist through a bare downcall handle) and {@link #hostMsync} (the same copy,
 * then msync(MS_SYNC) of the pages, which writes them to the file's disk). Their file is in
 * {@code -Dkdirect.bench.dir}, else {@code java.io.tmpdir}: run them with {@code PersistBenchmark.host}.
 *
 * <p>The DAX directory is {@code -Dkdirect.pmem.dir} or {@code $KDIRECT_PMEM_DIR}. Every setup calls
 * {@link Feature#DAX_PMEM}'s {@code ensureAvailable()} first, so without DAX the benchmarks fail at once and the
 * simulated kernel is never timed. Every page of every mapping is written in the setup, so the first measured
 * store does not fault the page in.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
public class PersistBenchmark {
    /** Each mapping's size. */
    static final long REGION = 1 << 20;
    /** Where every op stores: page-aligned, so {@code size} bytes cover whole cache lines and pages. */
    static final long OFFSET = 4096;

    /** The bytes one op stores. */
    @State(Scope.Thread)
    public static class Payload {
        @Param({"64", "4096", "65536"})
        public int size;

        byte[] data;

        @Setup(Level.Trial)
        public void setUp() {
            data = new byte[size];
            new Random(20261202L).nextBytes(data);
        }
    }

    /** A {@link PmemRegion} mapped strictly with MAP_SYNC on DAX. */
    @State(Scope.Thread)
    public static class DaxRegion {
        PmemRegion region;
        Path file;

        @Setup(Level.Trial)
        public void setUp() throws KernelException {
            Feature.DAX_PMEM.ensureAvailable();
            file = daxDirectory().resolve("persist-kdirect-" + ProcessHandle.current().pid());
            region = PmemRegion.map(Kernels.ffm(), file, REGION, true);
            requireCacheLineOrByte(region);
            populate(region);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws KernelException, IOException {
            close(region, file);
        }
    }

    /** A second MAP_SYNC mapping on DAX, written through a writable segment, and libpmem's pmem_persist. */
    @State(Scope.Thread)
    public static class LibPmemRegion {
        PmemRegion region;
        Path file;
        MemorySegment memory;
        long target;

        @Setup(Level.Trial)
        public void setUp() throws Throwable {
            Feature.DAX_PMEM.ensureAvailable();
            file = daxDirectory().resolve("persist-libpmem-" + ProcessHandle.current().pid());
            region = PmemRegion.map(Kernels.ffm(), file, REGION, true); // only maps; stores go to memory below
            requireCacheLineOrByte(region);
            memory = MemorySegment.ofAddress(region.readOnlyView().address()).reinterpret(REGION);
            for (long offset = 0; offset < REGION; offset += 4096) {
                memory.set(JAVA_BYTE, offset, (byte) 1);
            }
            PmemPersist.HANDLE.invokeExact(memory.address(), REGION);
            target = memory.address() + OFFSET;
        }

        @TearDown(Level.Trial)
        public void tearDown() throws KernelException, IOException {
            close(region, file);
        }
    }

    /**
     * libpmem's {@code void pmem_persist(const void *addr, size_t len)}, linked on first use (after the setup's
     * feature check), as a constant for the JIT like kdirect's own handles.
     */
    static final class PmemPersist {
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(
                SymbolLookup.libraryLookup("libpmem.so.1", Arena.global()).find("pmem_persist").orElseThrow(),
                FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG), Linker.Option.critical(false));

        private PmemPersist() {
        }
    }

    /** A file in the DAX directory mapped MAP_SHARED without MAP_SYNC: persisted with msync. */
    @State(Scope.Thread)
    public static class DaxWithoutMapSync {
        Kernel kernel;
        Path file;
        MemorySegment memory;
        MemorySegment pages;
        long pageSize;

        @Setup(Level.Trial)
        public void setUp() throws KernelException {
            Feature.DAX_PMEM.ensureAvailable();
            kernel = Kernels.ffm();
            pageSize = kernel.pageSize();
            file = daxDirectory().resolve("persist-msync-" + ProcessHandle.current().pid());
            int fd = UserFiles.openOrCreate(kernel, file).fd();
            try {
                kernel.fallocate(fd, 0, 0, REGION);
                memory = kernel.mmap(MemorySegment.NULL, REGION, Prot.READ_WRITE, MapFlags.SHARED, fd, 0);
            } finally {
                kernel.close(fd);
            }
            for (long offset = 0; offset < REGION; offset += pageSize) {
                memory.set(JAVA_BYTE, offset, (byte) 1);
            }
            kernel.msync(memory, REGION, Kernel.MS_SYNC);
            pages = memory.asSlice(OFFSET & -pageSize); // OFFSET is page-aligned: the pages start there
        }

        @TearDown(Level.Trial)
        public void tearDown() throws KernelException, IOException {
            if (memory != null) {
                kernel.munmap(memory, REGION);
            }
            if (file != null) {
                Files.deleteIfExists(file);
            }
        }
    }

    /** A {@link PmemRegion} on tmpfs: granularity PAGE, persist is msync. */
    @State(Scope.Thread)
    public static class TmpfsRegion {
        PmemRegion region;
        Path file;

        @Setup(Level.Trial)
        public void setUp() throws KernelException {
            Feature.DAX_PMEM.ensureAvailable(); // same precondition as the others: all of the run or none
            file = Path.of(System.getProperty("java.io.tmpdir"), "persist-tmpfs-" + ProcessHandle.current().pid());
            region = PmemRegion.map(Kernels.ffm(), file, REGION, false);
            if (region.granularity() != Granularity.PAGE) {
                throw new IllegalStateException(file + " should not be on DAX, but its region's granularity is "
                        + region.granularity() + ": " + region.granularityReason());
            }
            populate(region);
        }

        @TearDown(Level.Trial)
        public void tearDown() throws KernelException, IOException {
            close(region, file);
        }
    }

    /**
     * One MAP_SHARED mapping of a page-cache file, for the host benchmarks: a {@link PmemRegion} over it at
     * CACHE_LINE granularity for kdirect, the same memory written directly for libpmem and msync.
     */
    @State(Scope.Thread)
    public static class HostFileMapping {
        Kernel kernel;
        Path file;
        MemorySegment memory;
        PmemRegion region;
        long target;

        @Setup(Level.Trial)
        public void setUp() throws KernelException {
            kernel = Kernels.ffm();
            file = Path.of(System.getProperty("kdirect.bench.dir", System.getProperty("java.io.tmpdir")),
                    "persist-host-" + ProcessHandle.current().pid());
            int fd = UserFiles.openOrCreate(kernel, file).fd();
            try {
                kernel.fallocate(fd, 0, 0, REGION);
                memory = kernel.mmap(MemorySegment.NULL, REGION, Prot.READ_WRITE, MapFlags.SHARED, fd, 0);
            } finally {
                kernel.close(fd);
            }
            region = PmemRegion.ofMapped(kernel, memory, Granularity.CACHE_LINE,
                    "a page-cache file mapping, flushed by cache line to time the flush path");
            populate(region);
            kernel.msync(memory, REGION, Kernel.MS_SYNC);
            target = memory.address() + OFFSET;
        }

        @TearDown(Level.Trial)
        public void tearDown() throws KernelException, IOException {
            region.close();
            kernel.munmap(memory, REGION);
            Files.deleteIfExists(file);
        }
    }

    /** kdirect on the host: copyFrom then persist (one pmem_persist through the FFM binding). */
    @Benchmark
    public PmemRegion hostKdirect(Payload p, HostFileMapping m) throws KernelException {
        m.region.copyFrom(p.data, 0, p.size, OFFSET);
        m.region.persist(OFFSET, p.size);
        return m.region;
    }

    /** libpmem on the host: the same copy into the same kind of mapping, then pmem_persist. */
    @Benchmark
    public long hostLibpmem(Payload p, HostFileMapping m) throws Throwable {
        MemorySegment.copy(p.data, 0, m.memory, JAVA_BYTE, OFFSET, p.size);
        PmemPersist.HANDLE.invokeExact(m.target, (long) p.size);
        return m.target;
    }

    /** msync on the host: the same copy, then msync(MS_SYNC) of the pages: written back to the disk. */
    @Benchmark
    public long hostMsync(Payload p, HostFileMapping m) throws KernelException {
        MemorySegment.copy(p.data, 0, m.memory, JAVA_BYTE, OFFSET, p.size);
        m.kernel.msync(m.memory.asSlice(OFFSET), p.size, Kernel.MS_SYNC);
        return m.target;
    }

    /** kdirect: copyFrom then persist (pmem_flush and pmem_drain through the FFM binding). */
    @Benchmark
    public PmemRegion kdirect(Payload p, DaxRegion r) throws KernelException {
        r.region.copyFrom(p.data, 0, p.size, OFFSET);
        r.region.persist(OFFSET, p.size);
        return r.region;
    }

    /** libpmem: the same copy, then pmem_persist through a bare critical downcall handle. */
    @Benchmark
    public long libpmem(Payload p, LibPmemRegion r) throws Throwable {
        MemorySegment.copy(p.data, 0, r.memory, JAVA_BYTE, OFFSET, p.size);
        PmemPersist.HANDLE.invokeExact(r.target, (long) p.size);
        return r.target;
    }

    /** msync: the same copy into the DAX file mapped without MAP_SYNC, then msync(MS_SYNC) of its pages. */
    @Benchmark
    public long msync(Payload p, DaxWithoutMapSync r) throws KernelException {
        MemorySegment.copy(p.data, 0, r.memory, JAVA_BYTE, OFFSET, p.size);
        r.kernel.msync(r.pages, p.size, Kernel.MS_SYNC);
        return r.pageSize;
    }

    /** msync on tmpfs: copyFrom then persist on a PAGE-granular region. */
    @Benchmark
    public PmemRegion msyncTmpfs(Payload p, TmpfsRegion r) throws KernelException {
        r.region.copyFrom(p.data, 0, p.size, OFFSET);
        r.region.persist(OFFSET, p.size);
        return r.region;
    }

    static Path daxDirectory() {
        String dir = System.getProperty("kdirect.pmem.dir", System.getenv().getOrDefault("KDIRECT_PMEM_DIR", ""));
        if (dir.isBlank()) {
            throw new IllegalStateException("PersistBenchmark needs the DAX directory: set KDIRECT_PMEM_DIR or"
                    + " -Dkdirect.pmem.dir (ci/qemu/run sets KDIRECT_PMEM_DIR=/mnt/pmem in the guest)");
        }
        return Path.of(dir);
    }

    /** Faults every page in and persists it, so no op pays for a first touch. */
    static void populate(PmemRegion region) throws KernelException {
        for (long offset = 0; offset < REGION; offset += 4096) {
            region.putByte(offset, (byte) 1);
        }
        region.persist(0, REGION);
    }

    static void requireCacheLineOrByte(PmemRegion region) {
        if (region.granularity() != Granularity.CACHE_LINE && region.granularity() != Granularity.BYTE) {
            throw new IllegalStateException("a strict MAP_SYNC region should persist by cache line or byte, not "
                    + region.granularity() + ": " + region.granularityReason());
        }
    }

    static void close(PmemRegion region, Path file) throws KernelException, IOException {
        if (region != null) {
            region.close();
        }
        if (file != null) {
            Files.deleteIfExists(file);
        }
    }
}
