package dev.kdirect.netty;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Feature;
import dev.kdirect.netty.EchoFixture.Transport;
import dev.kdirect.tcprepair.HostNamespaces;
import dev.kdirect.tcprepair.JvmProcess;
import dev.kdirect.tcprepair.TestCertificates;
import dev.kdirect.testing.RequiresRealKernel;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A Netty echo server in one network namespace hands its live channels over mutual TLS to its successor in another
 * (tcprepair's namespaces as hosts: each server a JVM in its host's namespace, the clients a JVM in the peer's, the
 * route switched at the cutover), on NIO and on native epoll. As in {@link NettyHandoffTest}, every client has
 * stopped reading so Netty's outbound buffer holds echoes, and has sent half a frame that waits in the decoder; both
 * cross with the channel, and every client then reads every byte it sent echoed back once, in order, from the
 * successor, which carries on each connection's frame count.
 */
@RequiresRealKernel(Feature.TCP_REPAIR)
@Tag("host-only") // four JVMs, keytool and namespaces per transport; the guest's time is spent
@Timeout(600) // keytool and four JVMs: minutes when the machine is loaded
class NettyHandoffNamespacesTest {
    private static final int CLIENTS = 20;
    private static final int PORT = 7000;
    private static final int TLS_PORT = 7100;
    private static final long WARM = 64_000;
    private static final long HELD = 200_500; // 200 frames and a half: 500 bytes stay in the decoder
    /** Per step; generous: a JVM start took over 60 s here at a load average of 60 (two QEMU guests). */
    private static final long TIMEOUT = 180_000;

    @ParameterizedTest
    @EnumSource(Transport.class)
    void twentyStreamingChannelsMoveOverTlsToAnotherNamespaceWithNettysBytes(Transport transport) throws Exception {
        TestCertificates certificates = TestCertificates.get();
        String name = transport.name().toLowerCase(java.util.Locale.ROOT);
        try (HostNamespaces ns = HostNamespaces.create();
                JvmProcess a = node("A", name, ns.hostA, certificates, "a", HostNamespaces.CONTROL_A);
                JvmProcess b = node("B", name, ns.hostB, certificates, "b", HostNamespaces.CONTROL_B)) {
            a.send("serve " + HostNamespaces.SERVICE + " " + PORT);
            a.expect(TIMEOUT, "LISTENING");
            try (JvmProcess peer = JvmProcess.start("peer", ns.peer, NettyPeer.class, HostNamespaces.SERVICE,
                    String.valueOf(PORT), String.valueOf(CLIENTS))) {
                peer.expect(TIMEOUT, "CONNECTED");
                a.send("live " + CLIENTS);
                a.expect(TIMEOUT, "LIVE");
                step(peer, "send " + WARM);
                step(peer, "receive " + WARM);
                step(peer, "send " + HELD); // and read nothing: the echoes back up into Netty
                a.send("held " + (WARM + HELD));
                a.expect(TIMEOUT, "HELD");

                b.send("in");
                a.send("out " + HostNamespaces.CONTROL_B + ":" + TLS_PORT);
                assertThat(a.expect(TIMEOUT, "CUTOVER", "DONE")).as(a.transcript() + b.transcript())
                        .isEqualTo("CUTOVER");
                ns.routeTo(ns.hostB);
                a.send("GO");
                String done = a.expect(TIMEOUT, "DONE");
                assertThat(done).as(a.transcript() + b.transcript()).isEqualTo("DONE " + CLIENTS + " null");
                assertThat(a.transcript().lines().filter(l -> l.startsWith("A> OUTCOME "))).hasSize(CLIENTS)
                        .allSatisfy(l -> {
                            String[] o = l.split(" ");
                            assertThat(o[2]).isEqualTo("MOVED");
                            assertThat(o[3]).as("the half frame in the decoder").isEqualTo("500");
                            assertThat(Long.parseLong(o[4])).as("Netty's outbound buffer").isPositive();
                            assertThat(o[5]).as("the old channel is open").isEqualTo("false");
                        });
                assertThat(b.expect(TIMEOUT, "IN")).as(b.transcript()).isEqualTo("IN " + CLIENTS + " 0 []");

                step(peer, "upto " + (WARM + HELD - 500)); // every echo the old server owed, in order
                step(peer, "send 500"); // completes the carried half frame
                step(peer, "receive 1000");
                step(peer, "send " + WARM);
                step(peer, "receive " + WARM);
                b.send("frames");
                assertThat(b.expect(TIMEOUT, "FRAMES")).as("frames per connection, carried by the codec")
                        .isEqualTo("FRAMES " + CLIENTS + " [" + (2 * WARM + HELD + 500) / EchoFixture.FRAME + "]");
                a.send("frames");
                assertThat(a.expect(TIMEOUT, "FRAMES")).isEqualTo("FRAMES 0 []");
                assertThat(ns.lockTables(ns.hostA)).isEmpty();
                assertThat(ns.lockTables(ns.hostB)).isEmpty();
            }
        }
    }

    private static JvmProcess node(String name, String transport, String namespace, TestCertificates certificates,
            String key, String address) throws Exception {
        JvmProcess node = JvmProcess.start(name, namespace, NettyNode.class, transport, certificates.dir.toString(),
                key, address, String.valueOf(TLS_PORT));
        try {
            node.expect(TIMEOUT, "READY");
        } catch (AssertionError | InterruptedException e) {
            node.close();
            throw e;
        }
        return node;
    }

    /** One command on every client at once; its failure fails the test with what the clients saw. */
    private static void step(JvmProcess peer, String command) throws InterruptedException {
        peer.send(command);
        assertThat(peer.expect(TIMEOUT, "OK", "ERROR")).as(command + "\n" + peer.transcript()).isEqualTo("OK");
    }
}
