package dev.kdirect.tcprepair;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * A server "host" of the soak test, run in its own JVM inside a host namespace. It serves at most one streaming
 * connection and answers commands on standard input, one line each:
 * <pre>
 *  serve IP PORT   accept one connection and stream (SERVING)
 *  in              accept one migration on this node's socket and stream on what arrived (IN sent received)
 *  out SOCKET      stop streaming and migrate to SOCKET (separate namespaces); the cutover asks CUTOVER and
 *                  waits for GO; then MOVED locked-ms, or KEPT reason and streams on
 *  stats           STATS sent received   (ERROR message if the stream failed)
 * </pre>
 * Arguments: its own migration socket path.
 */
public final class SoakNode {
    private static final long SERVER_SEED = 0x5e4e4L;
    private static final long PEER_SEED = 0x9ee4L;
    /** Generous: under the QEMU guest's TCG a step can take seconds. */
    private static final java.time.Duration STEP_TIMEOUT = java.time.Duration.ofSeconds(60);

    private SoakNode() {
    }

    public static void main(String[] args) throws Exception {
        BufferedReader commands = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        StreamPump pump = null;
        try (MigrationTarget target = MigrationTarget.listen(Path.of(args[0]))) {
            System.out.println("READY");
            for (String line; (line = commands.readLine()) != null; ) {
                String[] c = line.split(" ");
                switch (c[0]) {
                    case "serve" -> {
                        try (ServerSocketChannel server = ServerSocketChannel.open()) {
                            server.bind(new InetSocketAddress(c[1], Integer.parseInt(c[2])));
                            System.out.println("LISTENING");
                            pump = new StreamPump(server.accept(), SERVER_SEED, PEER_SEED,
                                    new StreamPump.Positions(0, 0));
                        }
                        System.out.println("SERVING");
                    }
                    case "in" -> {
                        List<MigrationTarget.Incoming> in = target.timeout(STEP_TIMEOUT).accept();
                        var p = StreamPump.Positions.of(in.getFirst().attachment());
                        pump = new StreamPump(in.getFirst().channel(), SERVER_SEED, PEER_SEED, p);
                        System.out.println("IN " + p.sent() + " " + p.received());
                    }
                    case "out" -> {
                        StreamPump.Positions p = pump.stop();
                        SocketChannel channel = pump.channel();
                        var report = MigrationSource.to(Path.of(c[1])).mode(MigrationMode.SEPARATE_NAMESPACES)
                                .timeout(STEP_TIMEOUT)
                                .cutover(restored -> {
                                    System.out.println("CUTOVER");
                                    if (!"GO".equals(commands.readLine())) {
                                        throw new java.io.IOException("the coordinator did not switch the route");
                                    }
                                })
                                .migrate(List.of(new MigrationSource.Outgoing(channel, p.bytes())));
                        var o = report.outcomes().getFirst();
                        if (o.status() == MigrationSource.Status.MOVED) {
                            pump = null;
                            System.out.println("MOVED " + report.lockedNanos() / 1_000_000);
                        } else {
                            pump = new StreamPump(o.channel(), SERVER_SEED, PEER_SEED, p);
                            System.out.println("KEPT " + o.status() + " " + o.reason());
                        }
                    }
                    case "stats" -> System.out.println(pump == null ? "STATS idle"
                            : pump.error() != null ? "ERROR " + pump.error()
                            : "STATS " + pump.positions().sent() + " " + pump.positions().received());
                    default -> System.out.println("ERROR unknown command " + line);
                }
            }
        }
    }
}
