package dev.kdirect.benchmarks;

import dev.kdirect.Feature;
import dev.kdirect.tcprepair.ConnectionState;
import dev.kdirect.tcprepair.FrozenConnection;
import dev.kdirect.tcprepair.TcpRepair;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.nio.channels.SocketChannel;
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
 * Restore of a detached loopback connection ({@code queued} bytes in its receive queue) into a new socket, then
 * its detach again (dump in repair mode, close: nothing sent), so the same state serves every operation: one
 * restore plus one detach, a migration's work on one host without the transfer. {@link #kdirect}:
 * {@link TcpRepair#restore} into a new JDK SocketChannel and {@link TcpRepair#detach} (FFM binding), the detach's
 * queues peeked into one reused buffer ({@link TcpRepair#queuesIn}) as the C code reuses its scratch state;
 * {@link #kdirectDescriptor}: the same by descriptor ({@link TcpRepair#restoreDescriptor}), no JDK channel. {@link #c}:
 * the same system calls from C in one downcall. Restore alone is this minus {@link TcpCheckpointBenchmark}'s
 * figure (a detach is a checkpoint that closes instead of leaving repair mode); kernel-facts.md quotes 8.1 us for
 * a C restore with empty queues. The peer stays open: the window probe each restore sends gets its answer.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED",
        "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED"})
public class TcpMoveBenchmark {
    /** A connection detached once, by kdirect for {@link #kdirect} and by the C code for {@link #c}. */
    @State(Scope.Thread)
    public static class Detached {
        @Param({"0", "4096", "65536", "1048576"})
        public int queued;

        LoopbackConnection connection;
        TcpRepair repair;
        /** The repair whose detach peeks into one reused buffer, as the C code's scratch state. */
        TcpRepair repairReusing;
        ConnectionState state;
        MemorySegment cState;
        MemorySegment cScratch;

        @Setup(Level.Trial)
        public void setUp() throws Throwable {
            Feature.TCP_REPAIR.ensureAvailable();
            repair = TcpRepair.system();
            repairReusing = repair.queuesIn(SegmentAllocator.prefixAllocator(
                    Arena.ofAuto().allocate(2L * SoccrBaseline.QUEUE_CAPACITY + 1)));
            connection = new LoopbackConnection(queued);
            cState = SoccrBaseline.newState();
            cScratch = SoccrBaseline.newState();
            // the state's queues in native memory of their own, as a migration target's (read from its frame)
            FrozenConnection frozen = repair.queuesIn(Arena.ofAuto()).freeze(connection.end);
            state = frozen.state();
            // the same frozen connection dumped by C (it stays in repair mode), then closed silently: it lives on
            // only in the two states
            SoccrBaseline.freeze(SoccrBaseline.descriptor(connection.localPort(), connection.remotePort()), cState);
            frozen.release();
        }

        @TearDown(Level.Trial)
        public void tearDown() throws Exception {
            connection.close();
        }
    }

    @Benchmark
    public ConnectionState kdirect(Detached d) throws Exception {
        SocketChannel restored = d.repairReusing.restore(d.state);
        return d.repairReusing.detach(restored);
    }

    /** The same through the descriptor API: no JDK channel opened, bound, connected and closed. */
    @Benchmark
    public ConnectionState kdirectDescriptor(Detached d) throws Exception {
        return d.repairReusing.detach(d.repairReusing.restoreDescriptor(d.state));
    }

    @Benchmark
    public int c(Detached d) throws Throwable {
        return SoccrBaseline.cycle(d.cState, d.cScratch);
    }
}
