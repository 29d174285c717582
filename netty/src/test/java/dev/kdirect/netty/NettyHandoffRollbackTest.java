package dev.kdirect.netty;

import static dev.kdirect.netty.NettyHandoffTest.all;
import static dev.kdirect.netty.NettyHandoffTest.await;
import static dev.kdirect.netty.NettyHandoffTest.pendingOutbound;
import static dev.kdirect.netty.NettyHandoffTest.takeOver;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Feature;
import dev.kdirect.netty.EchoFixture.Client;
import dev.kdirect.netty.EchoFixture.Echo;
import dev.kdirect.netty.EchoFixture.Transport;
import dev.kdirect.tcprepair.BlockingTarget;
import dev.kdirect.tcprepair.JvmProcess;
import dev.kdirect.tcprepair.MigrationMode;
import dev.kdirect.tcprepair.MigrationSource;
import dev.kdirect.tcprepair.MigrationTarget;
import dev.kdirect.testing.RequiresRealKernel;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The handoffs that do not end at the successor (same namespace, three clients holding echoes in Netty's outbound
 * buffer and half a frame in the decoder, as in {@link NettyHandoffTest}): a target killed after it restored the
 * connections but before its verdict, when the source had already released them, so the source restores its own
 * copies (RESTORED_HERE) and serves them in new channels with the carried bytes and state; and a NIO socket that does
 * not leave its JDK selector (this test registers it with a selector of its own that never selects), which is put
 * back in service here (KEPT) while the others move.
 */
@RequiresRealKernel(Feature.TCP_REPAIR)
@Tag("host-only") // the guest's time is spent; its tcprepair tests cover these kernel paths there
@Timeout(120)
class NettyHandoffRollbackTest {
    private static final int CLIENTS = 3;
    private static final long HELD = 200_500; // 200 frames and a half: 500 bytes stay in the decoder

    @ParameterizedTest
    @EnumSource(Transport.class)
    void aTargetKilledAfterTheReleaseLeavesEveryChannelRestoredHereWithItsBytesAndState(Transport transport)
            throws Exception {
        EventLoopGroup old = transport.group(1);
        ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
        List<Client> clients = new ArrayList<>();
        Path dir = Files.createTempDirectory("kdirect-netty");
        try (JvmProcess target = JvmProcess.start("target", null, BlockingTarget.class,
                dir.resolve("t.sock").toString(), "restored")) {
            Echo echo = new Echo();
            Channel server = EchoFixture.serve(transport, old, echo);
            List<Channel> live = held(echo, server, clients, threads);
            target.expect(60_000, "LISTENING");

            CompletableFuture<NettyHandoff.Report> handoff = CompletableFuture.supplyAsync(() -> {
                try {
                    return NettyHandoff.of(echo, EchoFixture.FRAME_COUNT).handOff(live,
                            MigrationSource.to(dir.resolve("t.sock")).mode(MigrationMode.SAME_NAMESPACE)
                                    .timeout(Duration.ofSeconds(60)));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, r -> Thread.ofPlatform().start(r));
            target.expect(60_000, "BLOCKED"); // restored there, frozen, its verdict not sent: the source released
            target.kill();
            NettyHandoff.Report report = handoff.get(60, TimeUnit.SECONDS);

            assertThat(report.failure()).contains("closed the migration session");
            List<Channel> now = new ArrayList<>();
            for (NettyHandoff.Outcome o : report.outcomes()) {
                assertThat(o.status()).as(o.reason()).isEqualTo(NettyHandoff.Status.RESTORED_HERE);
                assertThat(o.channel().isOpen()).as("the released channel").isFalse();
                assertThat(o.now()).isNotSameAs(o.channel());
                assertThat(o.now().isActive()).isTrue();
                assertThat(o.inboundBytes()).isEqualTo(500);
                assertThat(o.outboundBytes()).isPositive();
                now.add(o.now());
            }
            // the released channels leave `live` in their close listeners, on their event loops
            await(() -> echo.live.size() == now.size());
            assertThat(echo.live).containsExactlyInAnyOrderElementsOf(now);
            finish(clients, threads, now, HELD);
            server.close().sync();
        } finally {
            close(clients, threads, old, dir);
        }
    }

    @Test
    void aNioSocketThatDoesNotLeaveItsSelectorStaysHereAndTheOthersMove() throws Exception {
        EventLoopGroup old = Transport.NIO.group(1);
        EventLoopGroup successor = Transport.NIO.group(1);
        ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
        List<Client> clients = new ArrayList<>();
        Path dir = Files.createTempDirectory("kdirect-netty");
        try (MigrationTarget target = MigrationTarget.listen(dir.resolve("handoff.sock"));
                Selector pinning = Selector.open()) {
            Echo echo = new Echo();
            Channel server = EchoFixture.serve(Transport.NIO, old, echo);
            List<Channel> live = held(echo, server, clients, threads);
            HandoffNioSocketChannel pinned = (HandoffNioSocketChannel) live.getFirst();
            pinned.socket().register(pinning, SelectionKey.OP_READ); // never selected: it stays registered

            CompletableFuture<NettyHandoff.Arrived> arrived = takeOver(target, successor);
            NettyHandoff.Report report = NettyHandoff.of(echo, EchoFixture.FRAME_COUNT).handOff(live,
                    MigrationSource.to(dir.resolve("handoff.sock")).mode(MigrationMode.SAME_NAMESPACE));

            NettyHandoff.Outcome kept = report.outcomes().getFirst();
            assertThat(kept.status()).isEqualTo(NettyHandoff.Status.KEPT);
            assertThat(kept.reason()).contains("did not leave the JDK selector");
            assertThat(kept.now()).isSameAs(pinned);
            assertThat(report.outcomes().subList(1, CLIENTS)).allSatisfy(o -> {
                assertThat(o.status()).as(o.reason()).isEqualTo(NettyHandoff.Status.MOVED);
                assertThat(o.inboundBytes()).isEqualTo(500);
            });
            NettyHandoff.Arrived taken = arrived.get(60, TimeUnit.SECONDS);
            assertThat(taken.failures()).isEmpty();
            assertThat(taken.channels()).hasSize(CLIENTS - 1);
            await(() -> echo.live.size() == 1); // the moved ones leave in their close listeners
            assertThat(echo.live).containsExactly(pinned);

            List<Channel> serving = new ArrayList<>(List.of(pinned));
            serving.addAll(taken.channels());
            finish(clients, threads, serving, HELD);
            server.close().sync();
        } finally {
            successor.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            close(clients, threads, old, dir);
        }
    }

    /** Connects the clients, each sends HELD bytes and reads nothing; returns the channels once Netty holds echoes. */
    private static List<Channel> held(Echo echo, Channel server, List<Client> clients, ExecutorService threads)
            throws Exception {
        for (int i = 0; i < CLIENTS; i++) {
            clients.add(new Client(i, (InetSocketAddress) server.localAddress()));
        }
        await(() -> echo.live.size() == CLIENTS);
        all(threads, clients, c -> c.send(HELD));
        List<Channel> live = List.copyOf(echo.live);
        await(() -> live.stream().allMatch(ch -> ch.attr(EchoFixture.READ).get().get() == HELD
                && pendingOutbound(ch) > 0));
        return live;
    }

    /**
     * Every client reads every echo it is owed, in order, completes the half frame (its echo proves the carried 500
     * bytes came first) and the channels serving them count every frame.
     */
    private static void finish(List<Client> clients, ExecutorService threads, List<Channel> serving, long sent)
            throws Exception {
        all(threads, clients, c -> {
            c.receive(sent - 500 - c.received());
            c.send(500);
            c.receive(1000);
        });
        for (Channel ch : serving) {
            assertThat(ch.eventLoop().submit(() -> ch.attr(EchoFixture.FRAMES).get().get()).get())
                    .isEqualTo((sent + 500) / EchoFixture.FRAME);
        }
    }

    private static void close(List<Client> clients, ExecutorService threads, EventLoopGroup old, Path dir)
            throws Exception {
        NettyHandoffTest.close(clients, threads, old);
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        Files.delete(dir);
    }
}
