package dev.kdirect.benchmarks;

import dev.kdirect.Feature;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
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
 * A migration of {@code connections} idle connections between two network namespaces standing for hosts
 * ({@link HostPair}): from a source JVM in host A to a target JVM in host B ({@link HostNode} each), their peers in a
 * third JVM in the peer namespace ({@link PeerProcess}). {@code transport=tls}: over TCP with mutual TLS 1.3 across
 * the hosts' own veth link (handshake included); {@code unix}: over a Unix domain socket (the hosts share a file
 * system), the same move otherwise. Separate namespaces: the source's nftables lock, freeze, images, the target's
 * lock and restore, the cutover (the peer's route, one {@code ip} process), COMMIT, release, unlock. One operation
 * is the whole migration, from the command to the source's report (a line on a pipe each way); each iteration
 * connects fresh peers first. The lock's duration per migration is printed ("locked"). Needs root.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class TcpMigrationHostsBenchmark {
    /** The hosts, their JVMs, and the connections of each iteration. */
    @State(Scope.Thread)
    public static class Hosts {
        @Param({"unix", "tls"})
        public String transport;

        @Param({"10000"})
        public int connections;

        HostPair pair;
        Node a;
        Node b;
        Process peers;

        @Setup(Level.Trial)
        public void start() throws Exception {
            Feature.TCP_REPAIR.ensureAvailable();
            pair = new HostPair();
            a = new Node(pair, pair.hostA, "a", HostPair.CONTROL_A);
            b = new Node(pair, pair.hostB, "b", HostPair.CONTROL_B);
        }

        @Setup(Level.Iteration)
        public void connect() throws Exception {
            pair.routeTo(pair.hostA);
            a.send("serve " + connections);
            peers = PeerProcess.start(List.of("ip", "netns", "exec", pair.peer), HostPair.SERVICE,
                    HostNode.SERVICE_PORT, connections);
            a.expect("ACCEPTED");
            b.send("accept " + transport);
        }

        @TearDown(Level.Iteration)
        public void disconnect() throws Exception {
            peers.getOutputStream().close();
            peers.waitFor();
        }

        @TearDown(Level.Trial)
        public void stop() throws Exception {
            a.close();
            b.close();
            pair.close();
        }
    }

    @Benchmark
    public String migrate(Hosts h) throws Exception {
        String target = h.transport.equals("tls") ? HostPair.CONTROL_B + ":" + HostNode.TLS_PORT
                : h.pair.file("b.sock");
        h.a.send("migrate " + target + " " + String.join(" ", h.pair.routeCommand(h.pair.hostB)));
        String moved = h.a.expect("MOVED");
        String arrived = h.b.expect("ARRIVED");
        if (!moved.endsWith(" " + h.connections) || !arrived.equals("ARRIVED " + h.connections)) {
            throw new IllegalStateException("not all moved: " + moved + ", " + arrived);
        }
        System.out.println("locked " + moved.split(" ")[1] + " ms (" + h.transport + ")");
        return moved;
    }

    /** A {@link HostNode} JVM in a namespace, driven by lines. */
    static final class Node implements AutoCloseable {
        private final Process process;
        private final PrintWriter in;
        private final BufferedReader out;

        Node(HostPair pair, String namespace, String name, String control) throws IOException {
            List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", namespace,
                    ProcessHandle.current().info().command().orElse("java"), "--enable-native-access=ALL-UNNAMED",
                    "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED", "-Xmx1g", "-cp",
                    System.getProperty("java.class.path"), HostNode.class.getName(), pair.keys.toString(), name,
                    control));
            process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
            in = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
            out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
            expect("READY");
        }

        void send(String line) {
            in.println(line);
        }

        /** The next line, which must start with {@code prefix}. */
        String expect(String prefix) throws IOException {
            String line = out.readLine();
            if (line == null || !line.startsWith(prefix)) {
                throw new IOException("expected " + prefix + ", got " + line);
            }
            return line;
        }

        @Override
        public void close() throws Exception {
            in.close();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }
}
