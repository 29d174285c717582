package dev.kdirect.tcprepair;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The TLS control channel on its own, both ends in this JVM over loopback (no privileges): the session's frames
 * pass both ways once both certificates are accepted; a target whose certificate names another host, a source
 * without a certificate, a source that offers only TLS 1.2, and a peer that does not speak TLS are refused in the
 * handshake, and one that says
 * nothing at the session's deadline. The certificates are {@link TestCertificates}'; the source checks the name
 * the target's certificate must carry (10.213.2.2 for host B's) whatever address it dialled.
 */
@Timeout(120)
class TlsChannelTest {
    private static final String B = HostNamespaces.CONTROL_B;

    @Test
    void framesPassBothWaysOnceBothCertificatesAreAccepted() throws Exception {
        TestCertificates c = TestCertificates.get();
        try (ServerSocketChannel server = listening()) {
            CompletableFuture<String> echoed = serve(server, c.context("b"), t -> {
                ByteBuffer b = ByteBuffer.allocate(64);
                t.read(b);
                t.write(b.flip());
                return "echoed";
            });
            try (TlsChannel source = TlsChannel.client(dial(server), c.context("a"), B, deadline(), 30_000)) {
                MigrationWire wire = new MigrationWire(source, MigrationLimits.defaults());
                wire.send(new MigrationWire.Abort("over TLS"));
                assertThat(wire.receive()).isEqualTo(new MigrationWire.Abort("over TLS"));
            }
            assertThat(echoed.get(60, TimeUnit.SECONDS)).isEqualTo("echoed");
        }
    }

    @Test
    void aTargetWhoseCertificateNamesAnotherHostIsRefusedBeforeAByteIsSent() throws Exception {
        TestCertificates c = TestCertificates.get();
        try (ServerSocketChannel server = listening()) {
            CompletableFuture<String> target = serve(server, c.context("b"), t -> "handshaken");
            assertThatThrownBy(() -> TlsChannel.client(dial(server), c.context("a"), HostNamespaces.CONTROL_A,
                    deadline(), 30_000)).isInstanceOf(MigrationException.class)
                    .hasMessageContaining("the TLS handshake with the target " + HostNamespaces.CONTROL_A)
                    .hasMessageContaining("No subject alternative names matching IP address "
                            + HostNamespaces.CONTROL_A);
            assertThat(target.get(60, TimeUnit.SECONDS)).startsWith("refused: the TLS handshake with the source")
                    .contains("certificate_unknown");
        }
    }

    @Test
    void aSourceWithoutCertificateIsRefusedBeforeAFrameIsRead() throws Exception {
        TestCertificates c = TestCertificates.get();
        try (ServerSocketChannel server = listening()) {
            CompletableFuture<String> target = serve(server, c.context("b"), t -> "handshaken");
            try (TlsChannel source = TlsChannel.client(dial(server), c.withoutCertificate(), B, deadline(),
                    30_000)) {
                // TLS 1.3: the client's part of the handshake ends first; the target's refusal is the next thing
                // it reads
                assertThatThrownBy(() -> source.read(ByteBuffer.allocate(1))).isInstanceOf(MigrationException.class)
                        .hasMessageContaining("certificate_required");
            }
            assertThat(target.get(60, TimeUnit.SECONDS)).startsWith("refused: the TLS handshake with the source")
                    .contains("Empty client certificate chain");
        }
    }

    @Test
    void aPeerThatDoesNotSpeakTlsIsRefusedAndOneThatSaysNothingAtTheDeadline() throws Exception {
        TestCertificates c = TestCertificates.get();
        try (ServerSocketChannel server = listening()) {
            CompletableFuture<String> target = serve(server, c.context("b"), t -> "handshaken");
            try (SocketChannel plain = dial(server)) {
                plain.write(MigrationWire.frame(new MigrationWire.Hello(MigrationMode.SAME_NAMESPACE, 1)));
                assertThat(target.get(60, TimeUnit.SECONDS)).startsWith("refused: the TLS handshake with the source");
            }
            CompletableFuture<String> silent = serve(server, c.context("b"), 500, t -> "handshaken");
            SocketChannel mute = dial(server);
            try {
                assertThat(silent.get(60, TimeUnit.SECONDS)).contains("the session's deadline (500 ms) passed while"
                        + " in the TLS handshake");
            } finally {
                mute.close();
            }
        }
    }

    @Test
    void aSourceOfferingOnlyTls12IsRefused() throws Exception {
        TestCertificates c = TestCertificates.get();
        try (ServerSocketChannel server = listening()) {
            CompletableFuture<String> target = serve(server, c.context("b"), t -> "handshaken");
            InetSocketAddress at = (InetSocketAddress) server.getLocalAddress();
            try (SSLSocket old = (SSLSocket) c.context("a").getSocketFactory().createSocket(at.getAddress(),
                    at.getPort())) {
                old.setEnabledProtocols(new String[] {"TLSv1.2"});
                assertThatThrownBy(old::startHandshake).isInstanceOf(SSLException.class);
            }
            assertThat(target.get(60, TimeUnit.SECONDS)).startsWith("refused: the TLS handshake with the source")
                    .contains("protocol");
        }
    }

    private interface Session {
        String run(TlsChannel channel) throws IOException;
    }

    private static CompletableFuture<String> serve(ServerSocketChannel server, SSLContext tls, Session session) {
        return serve(server, tls, 30_000, session);
    }

    /** The target's end of one session, on another thread: what {@code session} returns, or why it was refused. */
    private static CompletableFuture<String> serve(ServerSocketChannel server, SSLContext tls, long timeoutMillis,
            Session session) {
        CompletableFuture<String> outcome = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try (TlsChannel target = TlsChannel.server(server.accept(), tls,
                    System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis), timeoutMillis)) {
                outcome.complete(session.run(target));
            } catch (IOException | RuntimeException e) {
                outcome.complete("refused: " + e.getMessage());
            }
        });
        return outcome;
    }

    private static ServerSocketChannel listening() throws IOException {
        return ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    }

    private static SocketChannel dial(ServerSocketChannel server) throws IOException {
        return SocketChannel.open(server.getLocalAddress());
    }

    private static long deadline() {
        return System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    }
}
