package dev.kdirect.benchmarks;

import dev.kdirect.tcprepair.MigrationMode;
import dev.kdirect.tcprepair.MigrationSource;
import dev.kdirect.tcprepair.MigrationTarget;
import dev.kdirect.tcprepair.MigrationTls;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.net.ssl.SSLContext;

/**
 * A host of {@link TcpMigrationHostsBenchmark}, a JVM in its own network namespace: a migration target on a Unix
 * domain socket (KEYS/NAME.sock) and on TLS (CONTROL:7100, presenting KEYS/NAME.p12), and a source. Commands on
 * standard input, one answer line each:
 * <pre>
 *  serve N                     accept N connections on the service address, port 7000 (ACCEPTED N)
 *  migrate TARGET ROUTE...     migrate them to TARGET (a socket path, or IP:PORT over TLS), separate namespaces,
 *                              the cutover running the command ROUTE...: MOVED lock-ms moved, or FAILED reason
 *  accept unix|tls             accept one migration, close what arrived: ARRIVED n, or FAILED reason
 * </pre>
 * Arguments: KEYS NAME CONTROL.
 */
public final class HostNode {
    static final int SERVICE_PORT = 7000;
    static final int TLS_PORT = 7100;

    private HostNode() {
    }

    public static void main(String[] args) throws Exception {
        Path keys = Path.of(args[0]);
        char[] password = HostPair.PASSWORD.toCharArray();
        SSLContext tls = MigrationTls.context(keys.resolve(args[1] + ".p12"), password, keys.resolve("trust.p12"),
                password);
        Duration timeout = Duration.ofSeconds(60);
        BufferedReader commands = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        List<MigrationSource.Outgoing> held = new ArrayList<>();
        try (MigrationTarget unix = MigrationTarget.listen(keys.resolve(args[1] + ".sock")).timeout(timeout);
                MigrationTarget overTls = MigrationTarget.listenTls(new InetSocketAddress(args[2], TLS_PORT), tls)
                        .timeout(timeout);
                ServerSocketChannel service = ServerSocketChannel.open()) {
            System.out.println("READY");
            for (String line; (line = commands.readLine()) != null; ) {
                String[] c = line.split(" ");
                try {
                    switch (c[0]) {
                        case "serve" -> {
                            if (service.getLocalAddress() == null) {
                                service.bind(new InetSocketAddress(HostPair.SERVICE, SERVICE_PORT), 4096);
                            }
                            for (int i = Integer.parseInt(c[1]); i > 0; i--) {
                                held.add(new MigrationSource.Outgoing(service.accept(), new byte[0]));
                            }
                            System.out.println("ACCEPTED " + held.size());
                        }
                        case "migrate" -> {
                            List<String> route = Arrays.asList(c).subList(2, c.length);
                            MigrationSource source = c[1].startsWith("/") ? MigrationSource.to(Path.of(c[1]))
                                    : MigrationSource.toTls(new InetSocketAddress(c[1].split(":")[0],
                                            Integer.parseInt(c[1].split(":")[1])), tls);
                            MigrationSource.Report report = source.mode(MigrationMode.SEPARATE_NAMESPACES)
                                    .timeout(timeout).cutover(restored -> run(route)).migrate(held);
                            for (MigrationSource.Outgoing o : held) {
                                o.channel().close(); // what stayed (none, unless it failed)
                            }
                            held.clear();
                            System.out.println(report.failure() != null ? "FAILED " + report.failure()
                                    : "MOVED " + report.lockedNanos() / 1_000_000 + " "
                                            + report.count(MigrationSource.Status.MOVED));
                        }
                        case "accept" -> {
                            List<MigrationTarget.Incoming> arrived = (c[1].equals("tls") ? overTls : unix).accept();
                            for (MigrationTarget.Incoming in : arrived) {
                                in.channel().close();
                            }
                            System.out.println("ARRIVED " + arrived.size());
                        }
                        default -> System.out.println("FAILED unknown command " + line);
                    }
                } catch (IOException | RuntimeException e) {
                    System.out.println("FAILED " + e);
                }
                System.out.flush();
            }
        }
    }

    private static void run(List<String> command) throws IOException {
        try {
            Process p = new ProcessBuilder(command).inheritIO().start();
            if (p.waitFor() != 0) {
                throw new IOException(String.join(" ", command) + " failed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
