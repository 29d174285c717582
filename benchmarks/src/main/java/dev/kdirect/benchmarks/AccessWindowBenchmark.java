package dev.kdirect.benchmarks;

import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.Kernels;
import dev.kdirect.pkeys.Access;
import dev.kdirect.pkeys.AccessWindow;
import dev.kdirect.pkeys.ProtectedRegion;
import dev.kdirect.pkeys.ProtectionKey;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What it costs a thread to change its own access to protected memory, on the real kernel only:
 * <ul>
 *   <li>{@link #windowOpenClose}: an empty {@link AccessWindow} on a {@link ProtectedRegion} through the FFM
 *       binding, from a thread whose rights for the key are {@link Access#NONE}, so that opening reads PKRU
 *       (pkey_get) and writes it (pkey_set) and closing writes it back: one RDPKRU and two WRPKRU per op.</li>
 *   <li>{@link #pkeySetFfm} and {@link #pkeySetJna}: one pkey_set per op, toggling one key between
 *       {@link Access#NONE} and {@link Access#READ_WRITE}, through each binding.</li>
 * </ul>
 * pkey_set is no syscall (it writes the PKRU register in user space), so the binding's call overhead is a large
 * part of it. The setup requires {@link Feature#PKEYS}: without PKU the benchmark fails at once with the probe's
 * message instead of timing the simulated kernel.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
public class AccessWindowBenchmark {
    private Kernel ffm;
    private Kernel jna;
    private ProtectionKey key;
    private ProtectedRegion region;
    private int keyNumber;
    private int rights;

    /** Runs on the benchmark thread (Scope.Thread), so the rights it sets are the ones the benchmark sees. */
    @Setup(Level.Trial)
    public void setUp() throws KernelException {
        Feature.PKEYS.ensureAvailable();
        ffm = Kernels.ffm();
        jna = Kernels.jna();
        key = ProtectionKey.allocate(ffm);
        region = ProtectedRegion.allocate(key, ffm.pageSize());
        keyNumber = key.number();
        ffm.pkeySet(keyNumber, Access.NONE.rights());
        rights = Access.NONE.rights();
        // The window must really switch this thread's rights: NONE, READ_WRITE inside, NONE again after.
        expect(Access.NONE, "before the first window");
        try (AccessWindow window = region.open(Access.READ_WRITE)) {
            expect(Access.READ_WRITE, "inside a window");
            window.segment().fill((byte) 1);
        }
        expect(Access.NONE, "after a window");
        if (jna.pkeyGet(keyNumber) != Access.NONE.rights()) {
            throw new IllegalStateException("the JNA binding reads other rights than the FFM binding");
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

    /** Open and close an empty read-write window: pkey_get, pkey_set(READ_WRITE), pkey_set(NONE). */
    @Benchmark
    public Access windowOpenClose() throws KernelException {
        try (AccessWindow window = region.open(Access.READ_WRITE)) {
            return window.access();
        }
    }

    /** One pkey_set through the FFM binding, alternating NONE and READ_WRITE. */
    @Benchmark
    public int pkeySetFfm() throws KernelException {
        int next = rights ^ Access.NONE.rights();
        ffm.pkeySet(keyNumber, next);
        rights = next;
        return next;
    }

    /** One pkey_set through the JNA binding, alternating NONE and READ_WRITE. */
    @Benchmark
    public int pkeySetJna() throws KernelException {
        int next = rights ^ Access.NONE.rights();
        jna.pkeySet(keyNumber, next);
        rights = next;
        return next;
    }

    private void expect(Access wanted, String when) {
        Access actual = key.access();
        if (actual != wanted) {
            throw new IllegalStateException("this thread's access to key " + keyNumber + " " + when + " is "
                    + actual + ", expected " + wanted);
        }
    }
}
