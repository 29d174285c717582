package dev.kdirect.benchmarks;

import dev.kdirect.Feature;
import dev.kdirect.tcprepair.ConnectionState;
import dev.kdirect.tcprepair.TcpRepair;
import dev.kdirect.tcprepair.MigrationMode;
import dev.kdirect.tcprepair.MigrationSource;
import dev.kdirect.tcprepair.MigrationTarget;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
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
 * A live migration of {@code connections} idle loopback connections (the accepted ends of one server) from a
 * {@link MigrationSource} to a {@link MigrationTarget} over a Unix domain socket, same network namespace, both in
 * this JVM (the target on another thread): nftables lock of every 4-tuple in one batch, freeze, images over the
 * socket, release, restore, commit, unlock. One operation is the whole migration, from {@code migrate} to the
 * target's last restored channel; each iteration builds fresh connections first, their peers in another process
 * ({@link PeerProcess}). With {@code queued} bytes, each connection carries data both ways: the peer's
 * {@code queued} bytes unread in the receive queue and {@code queued} bytes the peer has not taken in the send queue
 * (the peer's receive buffer is small and it reads nothing). Run it as {@code -p connections=1000 -p queued=65536}
 * (the default {@code queued} is 0). Needs root (CAP_NET_ADMIN, nft).
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED",
        "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED", "-Xmx2g"})
public class TcpMigrationBenchmark {
    /** The connections to move, rebuilt for every iteration, and the target. */
    @State(Scope.Thread)
    public static class Connections {
        @Param({"1000", "10000"})
        public int connections;

        @Param({"0"})
        public int queued;

        Path directory;
        ServerSocketChannel server;
        Process peers;
        final List<MigrationSource.Outgoing> outgoing = new ArrayList<>();
        List<MigrationTarget.Incoming> arrived = List.of();
        MigrationTarget target;
        Path socket;
        int round;

        @Setup(Level.Trial)
        public void listen() throws IOException {
            Feature.TCP_REPAIR.ensureAvailable();
            directory = Files.createTempDirectory("kdirect-migration-bench");
            server = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                    4096);
        }

        @Setup(Level.Iteration)
        public void connect() throws IOException {
            // accepted while the peers connect: more than the backlog (somaxconn) would wait for SYN retries
            CompletableFuture<Void> accepted = CompletableFuture.runAsync(() -> {
                try {
                    for (int i = 0; i < connections; i++) {
                        outgoing.add(new MigrationSource.Outgoing(server.accept(), new byte[0]));
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
            peers = PeerProcess.start(((InetSocketAddress) server.getLocalAddress()).getPort(), connections, queued);
            accepted.join();
            for (MigrationSource.Outgoing o : outgoing) {
                queueUnsent(o.channel());
            }
            if (queued > 0) {
                checkQueued(outgoing.getFirst().channel());
                checkQueued(outgoing.getLast().channel());
            }
            socket = directory.resolve("target-" + round++ + ".sock");
            target = MigrationTarget.listen(socket);
        }

        /**
         * {@code queued} bytes into the channel's send queue, beyond what the peer's small window takes: the send
         * buffer is made large enough (up to net.core.wmem_max) that the write returns with them queued.
         */
        private void queueUnsent(SocketChannel channel) throws IOException {
            if (queued == 0) {
                return;
            }
            channel.setOption(StandardSocketOptions.SO_SNDBUF, 4 * queued);
            for (ByteBuffer bytes = ByteBuffer.allocate(queued); bytes.hasRemaining(); ) {
                channel.write(bytes);
            }
        }

        /** A connection carries what the run says: {@code queued} bytes each way, or the setup is wrong. */
        private void checkQueued(SocketChannel channel) throws IOException {
            ConnectionState state = TcpRepair.system().checkpoint(channel);
            long sendQueue = state.sentUnacknowledgedView().byteSize() + state.unsentView().byteSize();
            if (state.receiveQueueView().byteSize() != queued || sendQueue < queued - 16384) {
                throw new IllegalStateException("a connection holds " + state.receiveQueueView().byteSize()
                        + " bytes received and " + sendQueue + " to send, not " + queued + " each way");
            }
        }

        @TearDown(Level.Iteration)
        public void checkAndClose() throws IOException {
            int moved = arrived.size();
            for (MigrationTarget.Incoming incoming : arrived) {
                incoming.channel().close();
            }
            peers.getOutputStream().close();
            try {
                peers.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            for (MigrationSource.Outgoing o : outgoing) {
                o.channel().close();
            }
            target.close();
            outgoing.clear();
            arrived = List.of();
            if (moved != connections) {
                throw new IllegalStateException("the target restored " + moved + " of " + connections);
            }
        }

        @TearDown(Level.Trial)
        public void stop() throws IOException {
            server.close();
        }
    }

    @Benchmark
    public MigrationSource.Report migrate(Connections c) throws Exception {
        CompletableFuture<List<MigrationTarget.Incoming>> arrived = CompletableFuture.supplyAsync(() -> {
            try {
                return c.target.accept();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        MigrationSource.Report report = MigrationSource.to(c.socket).mode(MigrationMode.SAME_NAMESPACE)
                .migrate(c.outgoing);
        c.arrived = arrived.get();
        if (report.failure() != null) {
            throw new IllegalStateException("the migration failed: " + report.failure());
        }
        System.out.println("locked " + report.lockedNanos() / 1_000_000 + " ms");
        return report;
    }
}
