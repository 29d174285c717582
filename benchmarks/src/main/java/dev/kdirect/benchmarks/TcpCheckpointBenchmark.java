package dev.kdirect.benchmarks;

import dev.kdirect.Feature;
import dev.kdirect.tcprepair.ConnectionState;
import dev.kdirect.tcprepair.TcpRepair;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
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
 * Checkpoint of one live loopback connection with {@code queued} unread bytes in its receive queue: repair mode on,
 * the whole dump (TCP_INFO, queue sizes, MSS, timestamp, window, both queues peeked, socket options), repair mode
 * off. {@link #kdirect}: {@link TcpRepair#checkpoint} of the JDK channel into an immutable
 * {@link ConnectionState} (FFM binding), its queues peeked into one reused buffer; {@link #kdirectHeap} without
 * {@link TcpRepair#queuesIn}, the queues copied to the heap. {@link #c}: the same system calls from C in one downcall (the baseline;
 * kernel-facts.md quotes 3.8 us for it with empty queues). Needs CAP_NET_ADMIN: run as root.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED",
        "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED"})
public class TcpCheckpointBenchmark {
    /** A connection whose measured end has {@code queued} unread bytes. */
    @State(Scope.Thread)
    public static class Connection {
        @Param({"0", "4096", "65536", "1048576"})
        public int queued;

        LoopbackConnection connection;
        TcpRepair repair;
        /** The same repair with the queues peeked into one reused buffer, as the C code's. */
        TcpRepair repairReusing;
        MemorySegment cState;
        int fd;

        @Setup(Level.Trial)
        public void setUp() throws Throwable {
            Feature.TCP_REPAIR.ensureAvailable();
            repair = TcpRepair.system();
            repairReusing = repair.queuesIn(SegmentAllocator.prefixAllocator(
                    Arena.ofAuto().allocate(2L * SoccrBaseline.QUEUE_CAPACITY + 1)));
            connection = new LoopbackConnection(queued);
            cState = SoccrBaseline.newState();
            fd = SoccrBaseline.descriptor(connection.localPort(), connection.remotePort());
        }

        @TearDown(Level.Trial)
        public void tearDown() throws Exception {
            connection.close();
        }
    }

    /** The queues peeked into one buffer reused by every checkpoint ({@link TcpRepair#queuesIn}), as C does. */
    @Benchmark
    public ConnectionState kdirect(Connection c) throws Exception {
        return c.repairReusing.checkpoint(c.connection.end);
    }

    /**
     * {@link TcpRepair#checkpoint} as it comes, without {@link TcpRepair#queuesIn}: the queues peeked into the
     * checkpoint's scratch memory, then copied to a heap array.
     */
    @Benchmark
    public ConnectionState kdirectHeap(Connection c) throws Exception {
        return c.repair.checkpoint(c.connection.end);
    }

    @Benchmark
    public int c(Connection c) throws Throwable {
        return SoccrBaseline.checkpoint(c.fd, c.cState);
    }
}
