package dev.kdirect.tcprepair;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Feature;
import dev.kdirect.testing.RequiresRealKernel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A live connection moved back and forth between two server JVMs in separate network namespaces ("hosts" A and
 * B, the same service address on both) while a client JVM in a third namespace streams checked bytes both ways:
 * after every move the stream must have advanced both ways through the new host, and at the end the client must
 * have seen no wrong, missing or extra byte and no reset or end of stream; no lock table may be left in either
 * host. The images travel over a Unix domain socket (the hosts share a file system), and again over TCP with mutual
 * TLS 1.3 across the hosts' own veth link. 100 moves each ({@code -Dkdirect.soak.migrations}; 5 in the QEMU guest,
 * where each move takes seconds under TCG: there it checks that namespaces, veth and nf_tables work on Debian's
 * kernel, the host does the soaking).
 */
@RequiresRealKernel(Feature.TCP_REPAIR)
@Timeout(600)
class MigrationSoakTest {
    static final int PORT = 7000;
    /** Where the nodes' TLS listeners bind, on each host's control address. */
    static final int TLS_PORT = 7100;
    private static final long STEP = 64 * 1024; // bytes each way that must pass after each move
    static final long TIMEOUT = "1".equals(System.getenv("KDIRECT_IN_GUEST")) ? 120_000 : 20_000;

    @Test
    void aStreamingConnectionMovesBetweenTwoHostsAHundredTimesWithoutLosingAByte() throws Exception {
        soak(null);
    }

    @Test
    void overTlsBetweenTheHostsItMovesAHundredTimesWithoutLosingAByte() throws Exception {
        soak(TestCertificates.get());
    }

    /** The soak, over TLS when there are {@code certificates}. */
    private static void soak(TestCertificates certificates) throws Exception {
        int migrations = Integer.getInteger("kdirect.soak.migrations",
                "1".equals(System.getenv("KDIRECT_IN_GUEST")) ? 5 : 100);
        Path dir = Files.createTempDirectory("kdirect-soak");
        try (HostNamespaces ns = HostNamespaces.create();
                JvmProcess a = node("A", ns.hostA, dir.resolve("a.sock"), certificates, "a", HostNamespaces.CONTROL_A,
                        TLS_PORT);
                JvmProcess b = node("B", ns.hostB, dir.resolve("b.sock"), certificates, "b", HostNamespaces.CONTROL_B,
                        TLS_PORT);
                JvmProcess peer = serving(ns, a)) {
            long[] peerAt = awaitProgress(peer, new long[] {0, 0}, TIMEOUT);
            List<Long> gaps = new ArrayList<>();
            List<Long> locked = new ArrayList<>();
            long started = System.nanoTime();
            JvmProcess from = a;
            JvmProcess to = b;
            for (int i = 1; i <= migrations; i++) {
                boolean toB = to == b;
                String target = certificates == null ? dir.resolve(toB ? "b.sock" : "a.sock").toString()
                        : (toB ? HostNamespaces.CONTROL_B : HostNamespaces.CONTROL_A) + ":" + TLS_PORT;
                locked.add(move(ns, from, to, toB ? ns.hostB : ns.hostA, certificates == null ? "in" : "in-tls",
                        target, "move " + i));
                long[] now = awaitProgress(peer, peerAt, TIMEOUT);
                gaps.add(now[2]);
                peerAt = now;
                assertServerAdvances(to, TIMEOUT);
                JvmProcess t = from;
                from = to;
                to = t;
            }
            long seconds = (System.nanoTime() - started) / 1_000_000_000;
            List<Long> sorted = gaps.stream().sorted().toList();
            System.out.printf("MigrationSoakTest%s: %d moves in %d s; peer streamed %d bytes out, %d in;"
                    + " longest gap per move (ms): median %d, max %d; source lock held (ms): median %d,"
                    + " max %d%n", certificates == null ? "" : " (TLS)", migrations, seconds, peerAt[0], peerAt[1],
                    sorted.get(sorted.size() / 2), sorted.getLast(),
                    locked.stream().sorted().toList().get(locked.size() / 2),
                    locked.stream().max(Long::compare).orElseThrow());
            assertStreamIntact(peer);
            assertThat(ns.lockTables(ns.hostA)).isEmpty();
            assertThat(ns.lockTables(ns.hostB)).isEmpty();
        } finally {
            Files.deleteIfExists(dir.resolve("a.sock"));
            Files.deleteIfExists(dir.resolve("b.sock"));
            Files.delete(dir);
        }
    }

    /**
     * A {@link SoakNode} in {@code namespace}, ready: its socket at {@code socket}; with {@code certificates}, also
     * a TLS listener at ADDRESS:PORT presenting {@code key}.
     */
    static JvmProcess node(String name, String namespace, Path socket, TestCertificates certificates, String key,
            String address, int port) throws Exception {
        JvmProcess node = certificates == null ? JvmProcess.start(name, namespace, SoakNode.class, socket.toString())
                : JvmProcess.start(name, namespace, SoakNode.class, socket.toString(), certificates.dir.toString(),
                        key, address, String.valueOf(port));
        try {
            node.expect(TIMEOUT, "READY");
        } catch (AssertionError | InterruptedException e) {
            node.close();
            throw e;
        }
        return node;
    }

    /** The client in the peer namespace, streaming with {@code server} (host A's node), which serves it. */
    static JvmProcess serving(HostNamespaces ns, JvmProcess server) throws Exception {
        server.send("serve " + HostNamespaces.SERVICE + " " + PORT);
        server.expect(TIMEOUT, "LISTENING");
        JvmProcess peer = JvmProcess.start("peer", ns.peer, SoakPeer.class, HostNamespaces.SERVICE,
                String.valueOf(PORT));
        try {
            peer.expect(TIMEOUT, "CONNECTED");
            server.expect(TIMEOUT, "SERVING");
        } catch (AssertionError | InterruptedException e) {
            peer.close();
            throw e;
        }
        return peer;
    }

    /**
     * One move of the connection from {@code from} to {@code to} (which accepts with {@code in}), to
     * {@code target}, the route switched to {@code toHost} at the cutover; returns how long the source held the lock
     * (ms).
     */
    static long move(HostNamespaces ns, JvmProcess from, JvmProcess to, String toHost, String in, String target,
            String what) throws Exception {
        to.send(in);
        from.send("out " + target);
        String ready = from.expect(TIMEOUT, "CUTOVER", "KEPT");
        assertThat(ready).as(what + "\n" + from.transcript() + to.transcript()).isEqualTo("CUTOVER");
        ns.routeTo(toHost);
        from.send("GO");
        String moved = from.expect(TIMEOUT, "MOVED", "KEPT");
        assertThat(moved).as(what + "\n" + from.transcript() + to.transcript()).startsWith("MOVED");
        to.expect(TIMEOUT, "IN");
        return Long.parseLong(moved.split(" ")[1]);
    }

    /** The client quits and reports no wrong, missing or extra byte, no reset and no end of stream, ever. */
    static void assertStreamIntact(JvmProcess peer) throws InterruptedException {
        peer.send("quit");
        assertThat(peer.process().waitFor()).as(peer.transcript()).isZero();
    }

    /** Polls the peer until it has sent and received STEP more bytes; returns sent, received, longest gap. */
    static long[] awaitProgress(JvmProcess peer, long[] from, long timeout) throws Exception {
        long deadline = System.currentTimeMillis() + timeout;
        long gap = 0;
        while (true) {
            peer.send("stats");
            String line = peer.expect(timeout, "STATS", "ERROR");
            assertThat(line).as(peer.transcript()).startsWith("STATS");
            String[] f = line.split(" ");
            long sent = Long.parseLong(f[1]);
            long received = Long.parseLong(f[2]);
            gap = Math.max(gap, Long.parseLong(f[3]));
            if (sent >= from[0] + STEP && received >= from[1] + STEP) {
                return new long[] {sent, received, gap};
            }
            assertThat(System.currentTimeMillis()).as("the stream stalled at " + line + "\n" + peer.transcript())
                    .isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    /** The server side verifies what it receives: its count must grow past STEP and its stream must be intact. */
    static void assertServerAdvances(JvmProcess server, long timeout) throws Exception {
        long deadline = System.currentTimeMillis() + timeout;
        long first = -1;
        while (true) {
            server.send("stats");
            String line = server.expect(timeout, "STATS", "ERROR");
            assertThat(line).as(server.transcript()).startsWith("STATS ");
            long received = Long.parseLong(line.split(" ")[2]);
            first = first < 0 ? received : first;
            if (received >= first + STEP / 4) {
                return;
            }
            assertThat(System.currentTimeMillis()).as("the server stalled at " + line).isLessThan(deadline);
            Thread.sleep(10);
        }
    }
}
