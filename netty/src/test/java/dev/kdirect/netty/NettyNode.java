package dev.kdirect.netty;

import dev.kdirect.netty.EchoFixture.Echo;
import dev.kdirect.netty.EchoFixture.Transport;
import dev.kdirect.tcprepair.MigrationMode;
import dev.kdirect.tcprepair.MigrationSource;
import dev.kdirect.tcprepair.MigrationTarget;
import dev.kdirect.tcprepair.TestCertificates;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * A Netty echo server "host" ({@link EchoFixture}'s pipeline) in its own JVM inside a host namespace of
 * {@link dev.kdirect.tcprepair.HostNamespaces}, driven by lines on standard input:
 * <pre>
 *  serve IP PORT    bind the echo server (LISTENING)
 *  live N           wait until N channels are served (LIVE)
 *  held BYTES       wait until every channel has read BYTES and holds echoes in Netty's outbound buffer (HELD)
 *  out IP:PORT      hand every channel over TLS to the node listening there (separate namespaces); the cutover asks
 *                   CUTOVER and waits for GO; then one OUTCOME status inbound outbound open line per channel and
 *                   DONE moved failure
 *  in               take over one handoff on this node's TLS listener (IN channels failures)
 *  frames           the distinct frame counts of the channels served here (FRAMES n...)
 * </pre>
 * Arguments: nio|epoll, the certificates' directory ({@link TestCertificates}), this node's key, and the address and
 * port its TLS listener binds.
 */
public final class NettyNode {
    private static final Duration STEP_TIMEOUT = Duration.ofSeconds(60);

    private NettyNode() {
    }

    public static void main(String[] args) throws Exception {
        BufferedReader commands = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        Transport transport = Transport.valueOf(args[0].toUpperCase(java.util.Locale.ROOT));
        TestCertificates certificates = TestCertificates.in(Path.of(args[1]));
        EventLoopGroup group = transport.group(2);
        Echo echo = new Echo();
        NettyHandoff handoff = NettyHandoff.of(echo, EchoFixture.FRAME_COUNT);
        try (MigrationTarget tls = MigrationTarget.listenTls(
                new InetSocketAddress(args[3], Integer.parseInt(args[4])), certificates.context(args[2]))) {
            System.out.println("READY");
            for (String line; (line = commands.readLine()) != null; ) {
                String[] c = line.split(" ");
                switch (c[0]) {
                    case "serve" -> {
                        new ServerBootstrap().group(group).channel(transport.serverChannel())
                                .childOption(ChannelOption.SO_SNDBUF, 4096).childHandler(echo)
                                .bind(new InetSocketAddress(c[1], Integer.parseInt(c[2]))).sync();
                        System.out.println("LISTENING");
                    }
                    case "live" -> {
                        NettyHandoffTest.await(() -> echo.live.size() == Integer.parseInt(c[1]));
                        System.out.println("LIVE");
                    }
                    case "held" -> {
                        long bytes = Long.parseLong(c[1]);
                        NettyHandoffTest.await(() -> echo.live.stream().allMatch(ch ->
                                ch.attr(EchoFixture.READ).get().get() == bytes
                                        && NettyHandoffTest.pendingOutbound(ch) > 0));
                        System.out.println("HELD");
                    }
                    case "out" -> {
                        String[] address = c[1].split(":");
                        NettyHandoff.Report report = handoff.handOff(List.copyOf(echo.live), MigrationSource
                                .toTls(new InetSocketAddress(address[0], Integer.parseInt(address[1])),
                                        certificates.context(args[2]))
                                .mode(MigrationMode.SEPARATE_NAMESPACES)
                                .timeout(STEP_TIMEOUT)
                                .cutover(restored -> {
                                    System.out.println("CUTOVER");
                                    if (!"GO".equals(commands.readLine())) {
                                        throw new IOException("the coordinator did not switch the route");
                                    }
                                }));
                        for (NettyHandoff.Outcome o : report.outcomes()) {
                            System.out.println("OUTCOME " + o.status() + " " + o.inboundBytes() + " "
                                    + o.outboundBytes() + " " + o.channel().isOpen() + " " + o.reason());
                        }
                        System.out.println("DONE " + report.count(NettyHandoff.Status.MOVED) + " "
                                + report.failure());
                    }
                    case "in" -> {
                        NettyHandoff.Arrived arrived = handoff.takeOver(tls.timeout(STEP_TIMEOUT), group);
                        System.out.println("IN " + arrived.channels().size() + " " + arrived.failures().size()
                                + " " + arrived.failures());
                    }
                    case "frames" -> {
                        TreeSet<Long> counts = new TreeSet<>();
                        for (Channel ch : List.copyOf(echo.live)) {
                            counts.add(ch.eventLoop().submit(() -> ch.attr(EchoFixture.FRAMES).get().get()).get());
                        }
                        System.out.println("FRAMES " + echo.live.size() + " " + counts);
                    }
                    default -> System.out.println("ERROR unknown command " + line);
                }
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }
}
