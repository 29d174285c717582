package dev.kdirect.benchmarks;

import dev.kdirect.Feature;
import dev.kdirect.tcprepair.NetworkLock;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
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
 * {@link NetworkLock#lock} of {@code tuples} made-up connections (127.77.0.0/16 to 127.77.200.1, no socket uses
 * them): one {@code nft -f -} batch, the stale-table scan beside it. One operation is the lock, until it holds; the
 * unlock (deleting the table) is outside the measurement. Needs root (CAP_NET_ADMIN, nft).
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3)
@Measurement(iterations = 10)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@State(Scope.Thread)
public class NetworkLockBenchmark {
    @Param({"10000"})
    public int tuples;

    private final List<NetworkLock.Tuple> locked = new ArrayList<>();
    private NetworkLock lock;

    @Setup(Level.Trial)
    public void tuples() {
        Feature.TCP_REPAIR.ensureAvailable();
        for (int i = 0; i < tuples; i++) {
            locked.add(new NetworkLock.Tuple(new InetSocketAddress("127.77." + (i >> 8) + "." + (i & 0xff), 443),
                    new InetSocketAddress("127.77.200.1", 20_000 + i)));
        }
    }

    @TearDown(Level.Iteration)
    public void unlock() throws IOException {
        lock.close();
    }

    @Benchmark
    public NetworkLock lock() throws IOException {
        lock = NetworkLock.lock(locked);
        return lock;
    }
}
