package dev.kdirect.benchmarks;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The per-call cost of one trivial syscall wrapper, geteuid(2), through each way kdirect can reach it: kdirect's
 * FFM and JNA bindings, and bare FFM handles with and without {@code Linker.Option.critical}. geteuid cannot
 * block or fail, so the critical form is safe for it.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 3, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
public class SyscallCostBenchmark {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle PLAIN = LINKER.downcallHandle(
            LINKER.defaultLookup().find("geteuid").orElseThrow(), FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle CRITICAL = LINKER.downcallHandle(
            LINKER.defaultLookup().find("geteuid").orElseThrow(), FunctionDescriptor.of(JAVA_INT),
            Linker.Option.critical(false));

    private final Kernel ffm = Kernels.ffm();
    private final Kernel jna = Kernels.jna();

    @Benchmark
    public int kdirectFfm() {
        return ffm.geteuid();
    }

    @Benchmark
    public int kdirectJna() {
        return jna.geteuid();
    }

    @Benchmark
    public int bareFfmPlain() throws Throwable {
        return (int) PLAIN.invokeExact();
    }

    @Benchmark
    public int bareFfmCritical() throws Throwable {
        return (int) CRITICAL.invokeExact();
    }
}
