package dev.kdirect.netty;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Feature;
import dev.kdirect.netty.EchoFixture.Client;
import dev.kdirect.netty.EchoFixture.Echo;
import dev.kdirect.netty.EchoFixture.Transport;
import dev.kdirect.tcprepair.MigrationMode;
import dev.kdirect.tcprepair.MigrationSource;
import dev.kdirect.tcprepair.MigrationTarget;
import dev.kdirect.testing.RequiresRealKernel;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A Netty echo server hands its live connections to a successor (two event loop groups in this JVM, the same
 * network namespace), on NIO and on native epoll. Before the handoff each of 100 clients has stopped reading while
 * the server echoes, so Netty's outbound buffer holds echoed bytes, and has sent half a frame, which waits unread
 * in the frame decoder's cumulation: both are carried, and every client then reads every byte it sent echoed back
 * once, in order, through the successor, which also carries on each connection's frame count (the codec's state).
 * A handoff that fails (no target) puts every channel back in service here with the same bytes and state.
 */
@RequiresRealKernel(Feature.TCP_REPAIR)
@Tag("host-only") // the guest's time is spent; its tcprepair tests cover these kernel paths there
@Timeout(120)
class NettyHandoffTest {
    private static final int CLIENTS = 100;
    private static final long WARM = 64_000;
    private static final long HELD = 200_500; // 200 frames and a half: 500 bytes stay in the decoder

    @ParameterizedTest
    @EnumSource(Transport.class)
    void aHundredStreamingConnectionsMoveToTheSuccessorWithNettysBytesAndLoseNothing(Transport transport)
            throws Exception {
        EventLoopGroup old = transport.group(2);
        EventLoopGroup successor = transport.group(2);
        ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
        List<Client> clients = new ArrayList<>();
        Path dir = Files.createTempDirectory("kdirect-netty");
        try (MigrationTarget target = MigrationTarget.listen(dir.resolve("handoff.sock"))) {
            Echo echo = new Echo();
            Channel server = EchoFixture.serve(transport, old, echo);
            for (int i = 0; i < CLIENTS; i++) {
                clients.add(new Client(i, (InetSocketAddress) server.localAddress()));
            }
            await(() -> echo.live.size() == CLIENTS);
            all(threads, clients, c -> {
                c.send(WARM);
                c.receive(WARM);
            });
            all(threads, clients, c -> c.send(HELD)); // and read nothing: the echoes back up into Netty
            List<Channel> live = List.copyOf(echo.live);
            await(() -> live.stream().allMatch(ch -> ch.attr(EchoFixture.READ).get().get() == WARM + HELD
                    && pendingOutbound(ch) > 0));

            CompletableFuture<NettyHandoff.Arrived> arrived = takeOver(target, successor);
            NettyHandoff.Report report = NettyHandoff.of(echo, EchoFixture.FRAME_COUNT).handOff(live,
                    MigrationSource.to(dir.resolve("handoff.sock")).mode(MigrationMode.SAME_NAMESPACE));

            assertThat(report.failure()).isNull();
            assertThat(report.count(NettyHandoff.Status.MOVED)).isEqualTo(CLIENTS);
            for (NettyHandoff.Outcome o : report.outcomes()) {
                assertThat(o.inboundBytes()).as("the half frame in the decoder").isEqualTo(500);
                assertThat(o.outboundBytes()).as("Netty's outbound buffer").isPositive();
                assertThat(o.channel().isOpen()).isFalse();
            }
            NettyHandoff.Arrived taken = arrived.get();
            assertThat(taken.failures()).isEmpty();
            assertThat(taken.channels()).hasSize(CLIENTS);
            await(echo.live::isEmpty); // a closed channel leaves `live` in its close listener, on its event loop

            all(threads, clients, c -> {
                c.receive(WARM + HELD - 500 - c.received()); // every echo the old server owed, in order
                c.send(500); // completes the carried half frame
                c.receive(1000);
                c.send(WARM);
                c.receive(WARM);
            });
            long frames = (2 * WARM + HELD + 500) / EchoFixture.FRAME;
            for (Channel ch : taken.channels()) {
                assertThat(ch.eventLoop().submit(() -> ch.attr(EchoFixture.FRAMES).get().get()).get())
                        .as("frames echoed on this connection, carried by the codec").isEqualTo(frames);
            }
            server.close().sync();
        } finally {
            close(clients, threads, old, successor);
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void withoutATargetEveryChannelGoesOnHereWithItsBytesAndState(Transport transport) throws Exception {
        EventLoopGroup old = transport.group(1);
        ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
        List<Client> clients = new ArrayList<>();
        Path dir = Files.createTempDirectory("kdirect-netty");
        try {
            Echo echo = new Echo();
            Channel server = EchoFixture.serve(transport, old, echo);
            for (int i = 0; i < 3; i++) {
                clients.add(new Client(i, (InetSocketAddress) server.localAddress()));
            }
            await(() -> echo.live.size() == 3);
            all(threads, clients, c -> c.send(HELD));
            List<Channel> live = List.copyOf(echo.live);
            await(() -> live.stream().allMatch(ch -> ch.attr(EchoFixture.READ).get().get() == HELD
                    && pendingOutbound(ch) > 0));

            NettyHandoff.Report report = NettyHandoff.of(echo, EchoFixture.FRAME_COUNT).handOff(live,
                    MigrationSource.to(dir.resolve("nobody.sock")).mode(MigrationMode.SAME_NAMESPACE));

            assertThat(report.failure()).contains("no migration target");
            for (NettyHandoff.Outcome o : report.outcomes()) {
                assertThat(o.status()).isEqualTo(NettyHandoff.Status.KEPT);
                assertThat(o.now()).isSameAs(o.channel());
                assertThat(o.inboundBytes()).isEqualTo(500);
                assertThat(o.outboundBytes()).isPositive();
            }
            all(threads, clients, c -> {
                c.receive(HELD - 500);
                c.send(500);
                c.receive(1000);
            });
            for (Channel ch : live) {
                assertThat(ch.eventLoop().submit(() -> ch.attr(EchoFixture.FRAMES).get().get()).get())
                        .isEqualTo((HELD + 500) / EchoFixture.FRAME);
            }
            server.close().sync();
        } finally {
            close(clients, threads, old);
        }
    }

    /** A successor with its own Echo takes over from {@code target} on another thread. */
    static CompletableFuture<NettyHandoff.Arrived> takeOver(MigrationTarget target, EventLoopGroup successor) {
        Echo successorEcho = new Echo();
        return CompletableFuture.supplyAsync(() -> {
            try {
                return NettyHandoff.of(successorEcho, EchoFixture.FRAME_COUNT).takeOver(target, successor);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /** Closes the clients, stops their threads, and shuts the event loop groups down. */
    static void close(List<Client> clients, ExecutorService threads, EventLoopGroup... groups) throws Exception {
        for (Client c : clients) {
            c.close();
        }
        threads.shutdownNow();
        for (EventLoopGroup g : groups) {
            g.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    static long pendingOutbound(Channel ch) {
        try {
            return ch.eventLoop().submit(() -> {
                var out = ch.unsafe().outboundBuffer();
                return out == null ? 0 : out.totalPendingWriteBytes();
            }).get();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @FunctionalInterface
    interface ClientStep {
        void run(Client c) throws Exception;
    }

    /** Runs the step for every client at once; the first failure fails the test. */
    static void all(ExecutorService threads, List<Client> clients, ClientStep step) throws Exception {
        List<Future<Void>> running = new ArrayList<>();
        for (Client c : clients) {
            running.add(threads.submit((Callable<Void>) () -> {
                step.run(c);
                return null;
            }));
        }
        for (Future<Void> f : running) {
            f.get();
        }
    }

    /** Waits for a condition (the test's timeout bounds it). */
    static void await(BooleanSupplier condition) {
        while (!condition.getAsBoolean()) {
            Thread.onSpinWait();
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
        }
    }
}
