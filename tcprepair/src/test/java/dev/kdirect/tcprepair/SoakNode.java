package dev.kdirect.tcprepair;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A server "host" of the soak test, run in its own JVM inside a host namespace. It serves at most one streaming
 * connection and answers commands on standard input, one line each:
 * <pre>
 *  serve IP PORT       accept one connection and stream (SERVING)
 *  in | in-tls         accept one migration on this node's socket (or its TLS listener) and stream on what arrived
 *                      (IN sent received), or FAILED reason
 *  out TARGET [KEY]    stop streaming, wait until the receive queue holds bytes (QUEUED received: the peer's stream
 *                      from there is in it), and migrate to TARGET (separate namespaces): a socket path, or IP:PORT
 *                      over TLS presenting this node's key or KEY (a keystore of the test certificates, or none);
 *                      the cutover asks CUTOVER and waits for GO; then MOVED locked-ms, or KEPT reason and streams on
 *  stats               STATS sent received   (ERROR message if the stream failed)
 * </pre>
 * Each step of a migration is printed as STEP name ({@link MigrationFaults}). Arguments: its own migration socket
 * path; over TLS also the certificates' directory ({@link TestCertificates}), its key's name, and the address and
 * port its TLS listener binds.
 */
public final class SoakNode {
    private static final long SERVER_SEED = 0x5e4e4L;
    static final long PEER_SEED = 0x9ee4L;
    /** Generous: under the QEMU guest's TCG a step can take seconds. */
    private static final Duration STEP_TIMEOUT = Duration.ofSeconds(60);

    private SoakNode() {
    }

    public static void main(String[] args) throws Exception {
        BufferedReader commands = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        MigrationFaults.hook = step -> System.out.println("STEP " + step);
        TestCertificates certificates = args.length > 1 ? TestCertificates.in(Path.of(args[1])) : null;
        StreamPump pump = null;
        try (MigrationTarget target = MigrationTarget.listen(Path.of(args[0]));
                MigrationTarget tls = certificates == null ? null : MigrationTarget.listenTls(
                        new InetSocketAddress(args[3], Integer.parseInt(args[4])), certificates.context(args[2]))) {
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
                    case "in", "in-tls" -> {
                        try {
                            List<MigrationTarget.Incoming> in = (c[0].equals("in") ? target : tls)
                                    .timeout(STEP_TIMEOUT).accept();
                            var p = StreamPump.Positions.of(in.getFirst().attachment());
                            pump = new StreamPump(in.getFirst().channel(), SERVER_SEED, PEER_SEED, p);
                            System.out.println("IN " + p.sent() + " " + p.received());
                        } catch (IOException e) {
                            System.out.println("FAILED " + e.getMessage());
                        }
                    }
                    case "out" -> {
                        StreamPump.Positions p = pump.stop();
                        SocketChannel channel = pump.channel();
                        awaitQueued(channel);
                        System.out.println("QUEUED " + p.received());
                        var report = source(c, certificates, args.length > 1 ? args[2] : null)
                                .mode(MigrationMode.SEPARATE_NAMESPACES)
                                .timeout(STEP_TIMEOUT)
                                .cutover(restored -> {
                                    System.out.println("CUTOVER");
                                    if (!"GO".equals(commands.readLine())) {
                                        throw new IOException("the coordinator did not switch the route");
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

    /** The source for "out TARGET [KEY]": a socket path, or IP:PORT over TLS with this node's key or KEY. */
    private static MigrationSource source(String[] command, TestCertificates certificates, String ownKey)
            throws Exception {
        if (command[1].startsWith("/")) {
            return MigrationSource.to(Path.of(command[1]));
        }
        String key = command.length > 2 ? command[2] : ownKey;
        String[] address = command[1].split(":");
        return MigrationSource.toTls(new InetSocketAddress(address[0], Integer.parseInt(address[1])),
                key.equals("none") ? certificates.withoutCertificate() : certificates.context(key));
    }

    /**
     * Waits (at most a step's timeout) until the peer's bytes wait in the receive queue, so the image carries
     * some: selecting for reading consumes nothing.
     */
    private static void awaitQueued(SocketChannel channel) throws IOException {
        try (Selector selector = Selector.open()) {
            channel.register(selector, SelectionKey.OP_READ);
            selector.select(STEP_TIMEOUT.toMillis());
        }
    }
}
