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
 * host. 100 moves ({@code -Dkdirect.soak.migrations}; 5 in the QEMU guest, where each move takes seconds under TCG:
 * there it checks that namespaces, veth and nf_tables work on Debian's kernel, the host does the soaking).
 */
@RequiresRealKernel(Feature.TCP_REPAIR)
@Timeout(600)
class MigrationSoakTest {
    private static final int PORT = 7000;
    private static final long STEP = 64 * 1024; // bytes each way that must pass after each move

    @Test
    void aStreamingConnectionMovesBetweenTwoHostsAHundredTimesWithoutLosingAByte() throws Exception {
        int migrations = Integer.getInteger("kdirect.soak.migrations",
                "1".equals(System.getenv("KDIRECT_IN_GUEST")) ? 5 : 100);
        long timeout = "1".equals(System.getenv("KDIRECT_IN_GUEST")) ? 120_000 : 20_000;
        Path dir = Files.createTempDirectory("kdirect-soak");
        try (HostNamespaces ns = HostNamespaces.create();
                JvmProcess a = JvmProcess.start("A", ns.hostA, SoakNode.class, dir.resolve("a.sock").toString());
                JvmProcess b = JvmProcess.start("B", ns.hostB, SoakNode.class, dir.resolve("b.sock").toString())) {
            a.expect(timeout, "READY");
            b.expect(timeout, "READY");
            a.send("serve " + HostNamespaces.SERVICE + " " + PORT);
            a.expect(timeout, "LISTENING");
            try (JvmProcess peer = JvmProcess.start("peer", ns.peer, SoakPeer.class, HostNamespaces.SERVICE,
                    String.valueOf(PORT))) {
                peer.expect(timeout, "CONNECTED");
                a.expect(timeout, "SERVING");
                long[] peerAt = awaitProgress(peer, new long[] {0, 0}, timeout);
                List<Long> gaps = new ArrayList<>();
                List<Long> locked = new ArrayList<>();
                long started = System.nanoTime();
                JvmProcess from = a;
                JvmProcess to = b;
                String toHost = ns.hostB;
                for (int i = 1; i <= migrations; i++) {
                    to.send("in");
                    from.send("out " + dir.resolve(to == a ? "a.sock" : "b.sock"));
                    String ready = from.expect(timeout, "CUTOVER", "KEPT");
                    assertThat(ready).as("move " + i + "\n" + from.transcript() + to.transcript()).isEqualTo("CUTOVER");
                    ns.routeTo(toHost);
                    from.send("GO");
                    String moved = from.expect(timeout, "MOVED", "KEPT");
                    assertThat(moved).as("move " + i + "\n" + from.transcript() + to.transcript()).startsWith("MOVED");
                    locked.add(Long.parseLong(moved.split(" ")[1]));
                    to.expect(timeout, "IN");
                    long[] now = awaitProgress(peer, peerAt, timeout);
                    gaps.add(now[2]);
                    peerAt = now;
                    assertServerAdvances(to, timeout);
                    JvmProcess t = from;
                    from = to;
                    to = t;
                    toHost = toHost.equals(ns.hostB) ? ns.hostA : ns.hostB;
                }
                long seconds = (System.nanoTime() - started) / 1_000_000_000;
                List<Long> sorted = gaps.stream().sorted().toList();
                System.out.printf("MigrationSoakTest: %d moves in %d s; peer streamed %d bytes out, %d in;"
                        + " longest gap per move (ms): median %d, max %d; source lock held (ms): median %d,"
                        + " max %d%n", migrations, seconds, peerAt[0], peerAt[1], sorted.get(sorted.size() / 2),
                        sorted.getLast(), locked.stream().sorted().toList().get(locked.size() / 2),
                        locked.stream().max(Long::compare).orElseThrow());
                peer.send("quit");
                assertThat(peer.process().waitFor()).as(peer.transcript()).isZero();
            }
            assertThat(ns.lockTables(ns.hostA)).isEmpty();
            assertThat(ns.lockTables(ns.hostB)).isEmpty();
        } finally {
            Files.deleteIfExists(dir.resolve("a.sock"));
            Files.deleteIfExists(dir.resolve("b.sock"));
            Files.delete(dir);
        }
    }

    /** Polls the peer until it has sent and received STEP more bytes; returns sent, received, longest gap. */
    private static long[] awaitProgress(JvmProcess peer, long[] from, long timeout) throws Exception {
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
    private static void assertServerAdvances(JvmProcess server, long timeout) throws Exception {
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
