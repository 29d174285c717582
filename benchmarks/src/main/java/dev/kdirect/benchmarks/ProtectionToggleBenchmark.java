package dev.kdirect.benchmarks;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.Kernels;
import dev.kdirect.MapFlags;
import dev.kdirect.Prot;
import dev.kdirect.pkeys.Access;
import dev.kdirect.pkeys.AccessWindow;
import dev.kdirect.pkeys.ProtectedRegion;
import dev.kdirect.pkeys.ProtectionKey;
import java.lang.foreign.MemorySegment;
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
 * Revoking and restoring access to a populated region (every page touched in the setup), per size, on the real
 * kernel through the FFM binding, two ways:
 * <ul>
 *   <li>{@link #pkeys}: pkey_set(NONE) then pkey_set(READ_WRITE) on the region's key. Only the calling thread's
 *       PKRU register changes; the cost does not depend on the size.</li>
 *   <li>{@link #mprotect}: mprotect(PROT_NONE) then mprotect(PROT_READ|PROT_WRITE) on a plain anonymous
 *       mapping of the same size. The kernel rewrites every page table entry of the range and flushes TLBs.</li>
 * </ul>
 * Both run in the same JMH run, so {@code -Dkdirect.baseline=pkeys} prints how many times slower mprotect is per
 * size. Each fork maps only the region its method uses (at most 1 GiB at a time). The setup requires
 * {@link Feature#PKEYS}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
public class ProtectionToggleBenchmark {

    /** The region size. */
    @State(Scope.Thread)
    public static class Size {
        @Param({"4KiB", "2MiB", "64MiB", "1GiB"})
        public String size;

        long bytes() {
            long unit = switch (size.replaceAll("[0-9]", "")) {
                case "KiB" -> 1L << 10;
                case "MiB" -> 1L << 20;
                case "GiB" -> 1L << 30;
                default -> throw new IllegalArgumentException("size must be a number of KiB, MiB or GiB: " + size);
            };
            return Long.parseLong(size.replaceAll("[^0-9]", "")) * unit;
        }
    }

    /** A populated {@link ProtectedRegion}; set up on the benchmark thread, which ends with read-write rights. */
    @State(Scope.Thread)
    public static class KeyedRegion {
        Kernel kernel;
        ProtectionKey key;
        ProtectedRegion region;
        int keyNumber;

        @Setup(Level.Trial)
        public void setUp(Size size) throws KernelException {
            Feature.PKEYS.ensureAvailable();
            kernel = Kernels.ffm();
            key = ProtectionKey.allocate(kernel);
            region = ProtectedRegion.allocate(key, size.bytes());
            keyNumber = key.number();
            try (AccessWindow window = region.open(Access.READ_WRITE)) {
                touchEveryPage(window.segment(), kernel.pageSize());
            }
        }

        @TearDown(Level.Trial)
        public void tearDown() throws KernelException {
            if (region != null) {
                region.close();
            }
            if (key != null) {
                key.close();
            }
        }
    }

    /** A populated anonymous read-write mapping without a key. */
    @State(Scope.Thread)
    public static class PlainRegion {
        Kernel kernel;
        MemorySegment memory;
        long bytes;

        @Setup(Level.Trial)
        public void setUp(Size size) throws KernelException {
            Feature.PKEYS.ensureAvailable(); // same precondition as pkeys: both halves of the ratio or neither
            kernel = Kernels.ffm();
            bytes = size.bytes();
            memory = kernel.mmap(MemorySegment.NULL, bytes, Prot.READ_WRITE, MapFlags.PRIVATE | MapFlags.ANONYMOUS,
                    -1, 0);
            touchEveryPage(memory, kernel.pageSize());
        }

        @TearDown(Level.Trial)
        public void tearDown() throws KernelException {
            if (memory != null) {
                kernel.munmap(memory, bytes);
            }
        }
    }

    /** Revoke then restore this thread's access to the keyed region: two pkey_set calls, no syscall. */
    @Benchmark
    public int pkeys(KeyedRegion r) throws KernelException {
        r.kernel.pkeySet(r.keyNumber, Access.NONE.rights());
        r.kernel.pkeySet(r.keyNumber, Access.READ_WRITE.rights());
        return r.keyNumber;
    }

    /** Revoke then restore every thread's access to the plain region: two mprotect syscalls. */
    @Benchmark
    public long mprotect(PlainRegion r) throws KernelException {
        r.kernel.mprotect(r.memory, r.bytes, Prot.NONE);
        r.kernel.mprotect(r.memory, r.bytes, Prot.READ_WRITE);
        return r.bytes;
    }

    /** Writes one byte per page, so that every page is backed before the measurement. */
    static void touchEveryPage(MemorySegment memory, long pageSize) {
        for (long offset = 0; offset < memory.byteSize(); offset += pageSize) {
            memory.set(JAVA_BYTE, offset, (byte) 1);
        }
    }
}
