package dev.kdirect.examples.cli;

import dev.kdirect.examples.handoff.Child;
import dev.kdirect.examples.handoff.NettyLines;
import dev.kdirect.examples.handoff.NettyLines.Transport;
import dev.kdirect.netty.NettyHandoff;
import dev.kdirect.tcprepair.MigrationMode;
import dev.kdirect.tcprepair.MigrationSource;
import dev.kdirect.tcprepair.MigrationTarget;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kdirect netty-handoff}: a zero-downtime restart of a Netty server. A Netty line echo server hands its live
 * channels ({@link NettyHandoff}: out of their event loops, with the bytes Netty holds and each connection's line
 * count) to a freshly started successor while Netty clients, separate processes, keep streaming numbered lines and
 * checking every echoed one; each client's downtime is the longest gap in its echo stream.
 */
@Command(name = "netty-handoff", mixinStandardHelpOptions = true,
        description = {"Zero-downtime restart of a Netty server: it hands its live channels (NIO or native epoll) to"
                + " a successor process while Netty clients keep streaming; prints each client's downtime (the"
                + " longest gap in its echo stream).",
            "'demo' runs it all on loopback: server, clients and successor as separate processes. 'server',"
                + " 'successor' and 'client' are the pieces, to run by hand in separate terminals.",
            "Needs CAP_NET_ADMIN (run with sudo) and nft (apt-get install nftables)."},
        exitCodeListHeading = "Exit status:%n",
        exitCodeList = {"0:every connection moved and no client saw a wrong line, a reset or an end of stream",
            "1:otherwise", FriendlyErrors.EXIT_USAGE, "3:TCP repair or nft is not available here (not root?)",
            FriendlyErrors.EXIT_ERRNO, FriendlyErrors.EXIT_BUG},
        subcommands = {NettyHandoffCommand.Demo.class, NettyHandoffCommand.Server.class,
            NettyHandoffCommand.Successor.class, NettyHandoffCommand.Client.class})
final class NettyHandoffCommand implements Runnable {
    /** How long either side waits for the other at one step before rolling back (slow machines). */
    private static final Duration STEP_TIMEOUT = Duration.ofSeconds(30);

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static Transport transport(String name) {
        return switch (name) {
            case "nio" -> Transport.NIO;
            case "epoll" -> Transport.EPOLL;
            default -> throw new IllegalArgumentException("--transport is nio or epoll, not " + name);
        };
    }

    @Command(name = "demo", mixinStandardHelpOptions = true,
            description = "Starts a Netty line echo server, N streaming Netty clients and, after a moment, the"
                    + " successor the server hands every channel to; then reports each client's downtime.",
            exitCodeListHeading = "Exit status:%n",
            exitCodeList = {"0:every connection moved and no client saw a wrong line, a reset or an end of stream",
                "1:otherwise", FriendlyErrors.EXIT_USAGE, "3:TCP repair or nft is not available here (not root?)",
                FriendlyErrors.EXIT_ERRNO, FriendlyErrors.EXIT_BUG})
    static final class Demo implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--transport", defaultValue = "nio", paramLabel = "nio|epoll",
                description = "Netty's transport for server, successor and clients (default nio).")
        String transport;

        @Option(names = "--clients", defaultValue = "3", description = "Streaming clients, each a JVM (default 3,"
                + " at most 100).")
        int clients;

        @Option(names = "--json", description = "Print the outcome as JSON.")
        boolean json;

        @Override
        public Integer call() throws Exception {
            transport(transport);
            if (clients < 1 || clients > 100) {
                throw new IllegalArgumentException("--clients must be 1 to 100, not " + clients);
            }
            TcpHandoffCommand.ensureReady();
            PrintWriter out = spec.commandLine().getOut();
            Path dir = Files.createTempDirectory("kdirect-netty-handoff");
            Path socket = dir.resolve("handoff.sock");
            List<Child> children = new ArrayList<>();
            List<String> progress = new CopyOnWriteArrayList<>();
            try {
                Child server = start(children, "server", "netty-handoff", "server", "--transport", transport,
                        "--port", "0", "--handoff", socket.toString());
                String port = server.await("LISTENING", 120, progress::add).split(" ")[1];
                List<Child> streaming = new ArrayList<>();
                for (int i = 0; i < clients; i++) {
                    streaming.add(start(children, "client " + (i + 1), "netty-handoff", "client", "--transport",
                            transport, "--id", String.valueOf(i + 1), "--connect", "127.0.0.1:" + port));
                }
                for (Child c : streaming) {
                    c.await("STREAMING", 120, l -> { });
                }
                Thread.sleep(500);
                if (!json) {
                    out.println("netty-handoff: " + clients + " Netty clients streaming through the " + transport
                            + " server on 127.0.0.1:" + port + "; starting the successor");
                    out.flush();
                }
                Child successor = start(children, "successor", "netty-handoff", "successor", "--transport",
                        transport, "--port", port, "--handoff", socket.toString());
                Consumer<String> show = HandoffDemo.show(progress, json, out);
                String handed = server.await("HANDED", 300, show);
                String took = successor.await("TOOK", 120, show);
                server.waitFor(30);
                Thread.sleep(500); // the clients stream on through the successor
                String[] h = handed.split(" ", 7);
                String[] t = took.split(" ");
                List<Map<String, Object>> results = HandoffDemo.stopClients(streaming);
                boolean clean = h[1].equals(h[2]) && h[2].equals(String.valueOf(clients))
                        && HandoffDemo.noClientFailed(results);
                Map<String, Object> report = new LinkedHashMap<>();
                report.put("transport", transport);
                report.put("clients", clients);
                report.put("moved", Integer.parseInt(h[1]));
                report.put("lockHeldMs", Long.parseLong(h[3]));
                report.put("carriedInboundBytes", Long.parseLong(h[4]));
                report.put("carriedOutboundBytes", Long.parseLong(h[5]));
                report.put("handoffFailure", h.length > 6 ? h[6] : null);
                report.put("successorTook", Integer.parseInt(t[1]));
                report.put("successorMs", Long.parseLong(t[2]));
                report.put("connections", results);
                report.put("ok", clean);
                out.println(json ? Json.write(report) : story(report, results));
                out.flush();
                return clean ? 0 : 1;
            } finally {
                HandoffDemo.closeAll(children);
                Files.deleteIfExists(socket); // the successor's, if it left it
                Files.deleteIfExists(dir);
            }
        }

        private static Child start(List<Child> children, String name, String... args) throws IOException {
            Child c = Child.start(name, args);
            children.add(c);
            return c;
        }

        private static String story(Map<String, Object> report, List<Map<String, Object>> results) {
            StringBuilder s = new StringBuilder();
            s.append("  server (").append(report.get("transport")).append("): handed ").append(report.get("moved"))
                    .append(" of ").append(report.get("clients")).append(" channels, with ")
                    .append(report.get("carriedInboundBytes")).append(" inbound bytes its handlers had not consumed")
                    .append(" and ").append(report.get("carriedOutboundBytes"))
                    .append(" bytes in Netty's outbound buffers; network lock held ").append(report.get("lockHeldMs"))
                    .append(" ms").append(report.get("handoffFailure") == null ? ""
                            : "; failed: " + report.get("handoffFailure")).append('\n');
            s.append("  successor: took ").append(report.get("successorTook")).append(" channels in ")
                    .append(report.get("successorMs")).append(" ms\n");
            HandoffDemo.tellClients(s, results);
            s.append(Boolean.TRUE.equals(report.get("ok")) ? "  result: every channel moved, the clients noticed"
                    + " only the pause" : "  result: FAILED");
            return s.toString();
        }
    }

    @Command(name = "server", mixinStandardHelpOptions = true,
            description = {"A Netty line echo server on 127.0.0.1:PORT that hands all its channels to the successor"
                    + " as soon as one listens on the handoff socket, then exits (channels the successor could not"
                    + " take stay here, served until the input ends).",
                "Prints LISTENING port, PROGRESS lines, HANDED moved total lock-held-ms inbound-bytes outbound-bytes"
                    + " [failure]; with --json one JSON object per line instead."},
            exitCodeListHeading = "Exit status:%n",
            exitCodeList = {"0:every channel was handed over", "1:some stayed here (served until the input ends)",
                FriendlyErrors.EXIT_USAGE, "3:TCP repair or nft is not available here (not root?)",
                FriendlyErrors.EXIT_ERRNO, FriendlyErrors.EXIT_BUG})
    static final class Server implements Callable<Integer> {
        @Option(names = "--json", description = "Print one JSON object per line.")
        boolean json;

        @Option(names = "--transport", defaultValue = "nio", paramLabel = "nio|epoll",
                description = "Netty's transport (default nio).")
        String transport;

        @Option(names = "--port", defaultValue = "0", description = "The port (0: any free one).")
        int port;

        @Option(names = "--handoff", required = true, paramLabel = "SOCKET",
                description = "The Unix domain socket the successor listens on (in a directory only this user or"
                        + " root may write to; the server checks who listens there before it sends anything).")
        Path handoff;

        @Override
        public Integer call() throws Exception {
            Transport t = transport(transport);
            Events events = new Events(System.out, json);
            MigrationSource source = MigrationSource.to(handoff); // refuses an over-long path now
            HandoffDemo.requireDirectory(handoff);
            TcpHandoffCommand.ensureReady();
            EventLoopGroup group = t.group(2);
            NettyLines.EchoServer echo = new NettyLines.EchoServer();
            Channel listener = listen(t, group, echo, port);
            int listening = ((InetSocketAddress) listener.localAddress()).getPort();
            events.emit("LISTENING", String.valueOf(listening), "port", listening);
            while (!Files.exists(handoff, LinkOption.NOFOLLOW_LINKS)) { // never deleted here: the successor's
                Thread.sleep(20);
            }
            listener.close().sync(); // new clients go to the successor's listener (SO_REUSEPORT) from now on
            List<Channel> live = List.copyOf(echo.live);
            NettyHandoff.Report report = NettyHandoff.of(echo, NettyLines.LINE_COUNT).handOff(live,
                    source.mode(MigrationMode.SAME_NAMESPACE).timeout(STEP_TIMEOUT)
                            .progress(HandoffDemo.progress(events, "server")));
            long moved = report.count(NettyHandoff.Status.MOVED);
            long lockHeldMs = report.lockedNanos() / 1_000_000;
            long inbound = report.outcomes().stream().mapToLong(NettyHandoff.Outcome::inboundBytes).sum();
            long outbound = report.outcomes().stream().mapToLong(NettyHandoff.Outcome::outboundBytes).sum();
            String failure = report.failure();
            for (NettyHandoff.Outcome o : report.outcomes()) {
                if (o.status() != NettyHandoff.Status.MOVED && failure == null) {
                    failure = o.status() + ": " + o.reason();
                }
            }
            events.emit("HANDED", moved + " " + live.size() + " " + lockHeldMs + " " + inbound + " " + outbound
                    + (failure == null ? "" : " " + failure), "moved", moved, "total", live.size(),
                    "lockHeldMs", lockHeldMs, "inboundBytes", inbound, "outboundBytes", outbound, "failure", failure);
            if (moved == live.size()) {
                group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).sync();
                return 0;
            }
            HandoffDemo.waitForEndOfInput();
            return 1;
        }
    }

    @Command(name = "successor", mixinStandardHelpOptions = true,
            description = {"The Netty server's successor: listens on the same port (SO_REUSEPORT) and on the handoff"
                    + " socket, takes the channels the server hands over into its own event loops and echoes on"
                    + " them until its input ends.",
                "Prints READY, PROGRESS lines, TOOK channels ms; with --json one JSON object per line instead."},
            exitCodeListHeading = "Exit status:%n",
            exitCodeList = {"0:its input ended after the handoff", FriendlyErrors.EXIT_USAGE,
                "3:TCP repair or nft is not available here (not root?)", FriendlyErrors.EXIT_ERRNO,
                FriendlyErrors.EXIT_BUG})
    static final class Successor implements Callable<Integer> {
        @Option(names = "--json", description = "Print one JSON object per line.")
        boolean json;

        @Option(names = "--transport", defaultValue = "nio", paramLabel = "nio|epoll",
                description = "Netty's transport (default nio).")
        String transport;

        @Option(names = "--port", required = true, description = "The server's port.")
        int port;

        @Option(names = "--handoff", required = true, paramLabel = "SOCKET",
                description = "The Unix domain socket to listen on for the handoff: a new one (nothing may be at"
                        + " the path), in an existing directory that only this user or root may write to.")
        Path handoff;

        @Override
        public Integer call() throws Exception {
            Transport t = transport(transport);
            Events events = new Events(System.out, json);
            TcpHandoffCommand.ensureReady();
            EventLoopGroup group = t.group(2);
            NettyLines.EchoServer echo = new NettyLines.EchoServer();
            listen(t, group, echo, port);
            try (MigrationTarget target = MigrationTarget.listen(handoff)) {
                events.emit("READY", "");
                target.timeout(STEP_TIMEOUT).progress(HandoffDemo.progress(events, "successor"));
                long start = System.nanoTime();
                NettyHandoff.Arrived arrived = NettyHandoff.of(echo, NettyLines.LINE_COUNT).takeOver(target, group);
                long ms = (System.nanoTime() - start) / 1_000_000;
                events.emit("TOOK", arrived.channels().size() + " " + ms + (arrived.failures().isEmpty() ? ""
                        : " " + arrived.failures()), "channels", arrived.channels().size(), "ms", ms, "failures",
                        arrived.failures());
            }
            HandoffDemo.waitForEndOfInput();
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).sync();
            return 0;
        }
    }

    @Command(name = "client", mixinStandardHelpOptions = true,
            description = {"A Netty client streaming numbered lines to the echo server and checking every echoed line"
                    + " until its input says 'stop' or ends.", "Prints STREAMING, then RESULT sent-bytes"
                    + " verified-bytes longest-gap-ms error-or-dash; with --json one JSON object per line instead."},
            exitCodeListHeading = "Exit status:%n",
            exitCodeList = {"0:every echoed line was right", "1:a wrong line, a reset or an end of stream",
                FriendlyErrors.EXIT_USAGE, FriendlyErrors.EXIT_ERRNO, FriendlyErrors.EXIT_BUG})
    static final class Client implements Callable<Integer> {
        @Option(names = "--json", description = "Print one JSON object per line.")
        boolean json;

        @Option(names = "--transport", defaultValue = "nio", paramLabel = "nio|epoll",
                description = "Netty's transport (default nio).")
        String transport;

        @Option(names = "--id", defaultValue = "1", description = "The client's number: its lines differ from"
                + " the other clients' (default 1).")
        int id;

        @Option(names = "--connect", required = true, paramLabel = "HOST:PORT", description = "The server.")
        String connect;

        @Override
        public Integer call() throws Exception {
            Transport t = transport(transport);
            Events events = new Events(System.out, json);
            NettyLines.Client client = new NettyLines.Client(t, id, HandoffDemo.address(connect));
            HandoffDemo.streamUntilStopped(events, client::verified);
            NettyLines.Client.Result r = client.stop();
            return HandoffDemo.result(events, r.sentBytes(), r.verifiedBytes(), r.longestGapMillis(), r.error());
        }
    }

    private static Channel listen(Transport t, EventLoopGroup group, NettyLines.EchoServer echo, int port)
            throws InterruptedException {
        return new ServerBootstrap().group(group).channel(t.serverChannel()).option(t.reusePort(), true)
                .childHandler(echo).bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port)).sync()
                .channel();
    }
}
