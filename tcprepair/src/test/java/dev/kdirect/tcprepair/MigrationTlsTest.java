package dev.kdirect.tcprepair;

import static dev.kdirect.tcprepair.MigrationSoakTest.TIMEOUT;
import static dev.kdirect.tcprepair.MigrationSoakTest.TLS_PORT;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Feature;
import dev.kdirect.testing.RequiresRealKernel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A migration between two namespaces standing for hosts over TLS (the control channel on their own veth link),
 * while a client in a third namespace streams checked bytes both ways ({@link MigrationSoakTest}'s nodes): a source
 * without a certificate (or with one of another CA), a target whose certificate is signed by another CA, and a
 * target whose certificate has expired are each refused in the TLS handshake, with the certificate problem named on
 * both sides, before the target reads a frame and before the source sends an image; the connection stays at the
 * source and keeps streaming. Then the connection moves over TLS through a relay that records what crosses the
 * wire: a marker from the peer's stream, waiting in the connection's receive queue, is not in the capture; moved
 * back over the Unix socket through the same kind of relay, the marker of that move is in its capture (what TLS
 * keeps off the wire).
 */
@RequiresRealKernel(Feature.TCP_REPAIR)
@Tag("host-only") // seven JVMs and keytool's take over 5 min under the guest's TCG; the TLS soak moves there
@Timeout(600)
class MigrationTlsTest {
    private static final int EXPIRED_PORT = 7102;
    private static final int ROGUE_PORT = 7103;
    private static final int RELAY_PORT = 7101;
    /** Bytes of the peer's stream, from the first one queued at the source, that make the marker. */
    private static final int MARKER_BYTES = 16;

    @Test
    void wrongOrMissingCertificatesAreRefusedBeforeAnyImageAndQueuedBytesNeverCrossInClear() throws Exception {
        TestCertificates certificates = TestCertificates.get();
        Path dir = Files.createTempDirectory("kdirect-tls");
        String targetB = HostNamespaces.CONTROL_B + ":" + TLS_PORT;
        try (HostNamespaces ns = HostNamespaces.create();
                JvmProcess a = MigrationSoakTest.node("A", ns.hostA, dir.resolve("a.sock"), certificates, "a",
                        HostNamespaces.CONTROL_A, TLS_PORT);
                JvmProcess b = MigrationSoakTest.node("B", ns.hostB, dir.resolve("b.sock"), certificates, "b",
                        HostNamespaces.CONTROL_B, TLS_PORT);
                JvmProcess expired = MigrationSoakTest.node("B-expired", ns.hostB, dir.resolve("e.sock"),
                        certificates, "b-expired", HostNamespaces.CONTROL_B, EXPIRED_PORT);
                JvmProcess rogue = MigrationSoakTest.node("B-rogue", ns.hostB, dir.resolve("r.sock"), certificates,
                        "b-rogue", HostNamespaces.CONTROL_B, ROGUE_PORT);
                JvmProcess peer = MigrationSoakTest.serving(ns, a)) {
            long[] peerAt = MigrationSoakTest.awaitProgress(peer, new long[] {0, 0}, TIMEOUT);

            // the source has no certificate; or one of another CA, which its key manager withholds as the target
            // names the CAs it accepts: missing either way
            for (String key : new String[] {"none", "a-rogue"}) {
                refused(a, b, targetB + " " + key, "Empty client certificate chain", "certificate_required");
                peerAt = MigrationSoakTest.awaitProgress(peer, peerAt, TIMEOUT);
            }
            refused(a, rogue, HostNamespaces.CONTROL_B + ":" + ROGUE_PORT, "certificate_unknown",
                    "unable to find valid certification path");
            peerAt = MigrationSoakTest.awaitProgress(peer, peerAt, TIMEOUT);
            refused(a, expired, HostNamespaces.CONTROL_B + ":" + EXPIRED_PORT, "certificate_expired", "NotAfter");
            peerAt = MigrationSoakTest.awaitProgress(peer, peerAt, TIMEOUT);

            Path overTls = dir.resolve("tls.capture");
            byte[] tlsMarker = relayedMove(ns, a, b, ns.hostB, "in-tls", ns.hostB,
                    HostNamespaces.CONTROL_B + ":" + RELAY_PORT, targetB, overTls);
            peerAt = MigrationSoakTest.awaitProgress(peer, peerAt, TIMEOUT);
            Path inClear = dir.resolve("unix.capture");
            byte[] clearMarker = relayedMove(ns, b, a, ns.hostA, "in", ns.hostA, dir.resolve("relay.sock").toString(),
                    dir.resolve("a.sock").toString(), inClear);
            MigrationSoakTest.awaitProgress(peer, peerAt, TIMEOUT);
            MigrationSoakTest.assertServerAdvances(a, TIMEOUT);

            byte[] tls = Files.readAllBytes(overTls);
            byte[] clear = Files.readAllBytes(inClear);
            assertThat(clear).as("the move over the Unix socket carries its marker in clear (else this test proves"
                    + " nothing)").satisfies(c -> assertThat(indexOf(c, clearMarker)).isNotNegative());
            assertThat(tls).as("what crossed the hosts' link (the move succeeded through the relay)").isNotEmpty();
            assertThat(indexOf(tls, tlsMarker)).as("the queued bytes in the TLS capture").isNegative();
            assertThat(indexOf(tls, MigrationWire.MAGIC)).as("the HELLO frame's magic in the TLS capture")
                    .isNegative();
            MigrationSoakTest.assertStreamIntact(peer);
            assertThat(ns.lockTables(ns.hostA)).isEmpty();
            assertThat(ns.lockTables(ns.hostB)).isEmpty();
        } finally {
            for (String f : new String[] {"a.sock", "b.sock", "e.sock", "r.sock", "relay.sock", "tls.capture",
                    "unix.capture"}) {
                Files.deleteIfExists(dir.resolve(f));
            }
            Files.delete(dir);
        }
    }

    /**
     * {@code source} migrates to {@code target} with "out TARGET_AND_KEY": the target's TLS handshake refuses it
     * (naming {@code targetReason}) before it reaches any step, and the source keeps the connection (its reason
     * names {@code sourceReason}) without having been welcomed or sent an image; it streams on.
     */
    private static void refused(JvmProcess source, JvmProcess target, String targetAndKey, String targetReason,
            String sourceReason) throws Exception {
        int sourceFrom = source.transcript().length();
        int targetFrom = target.transcript().length();
        target.send("in-tls");
        source.send("out " + targetAndKey);
        String failed = target.expect(TIMEOUT, "FAILED", "IN");
        String kept = source.expect(TIMEOUT, "KEPT", "CUTOVER");
        String sourceSaw = source.transcript().substring(sourceFrom);
        String targetSaw = target.transcript().substring(targetFrom);
        assertThat(kept).as(sourceSaw + targetSaw).startsWith("KEPT KEPT rolled back: ").contains("TLS")
                .contains(sourceReason);
        assertThat(failed).as(targetSaw).startsWith("FAILED refused the source: the TLS handshake with the source at")
                .contains(targetReason);
        assertThat(targetSaw).as("steps the target reached").doesNotContain("STEP");
        assertThat(sourceSaw).as("steps the source reached").doesNotContain("STEP source welcomed")
                .doesNotContain("STEP source sent");
        MigrationSoakTest.assertServerAdvances(source, TIMEOUT);
    }

    /**
     * A move through a {@link RelayNode} in {@code relayHost} listening at {@code relay} and passing on to
     * {@code target}, which records what the source sent into {@code capture}; returns the marker: the first bytes
     * of the peer's stream that waited in the source's receive queue.
     */
    private static byte[] relayedMove(HostNamespaces ns, JvmProcess from, JvmProcess to, String toHost, String in,
            String relayHost, String relay, String target, Path capture) throws Exception {
        try (JvmProcess relaying = JvmProcess.start("relay", relayHost, RelayNode.class, relay, target,
                capture.toString())) {
            relaying.expect(TIMEOUT, "RELAYING");
            int from0 = from.transcript().length();
            MigrationSoakTest.move(ns, from, to, toHost, in, relay, "move through the relay at " + relay);
            relaying.expect(TIMEOUT, "CAPTURED");
            String queued = from.transcript().substring(from0).lines().filter(l -> l.contains("> QUEUED "))
                    .findFirst().orElseThrow();
            long at = Long.parseLong(queued.substring(queued.lastIndexOf(' ') + 1));
            byte[] marker = new byte[MARKER_BYTES];
            for (int k = 0; k < MARKER_BYTES; k++) {
                marker[k] = StreamPump.at(SoakNode.PEER_SEED, at + k);
            }
            return marker;
        }
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        return -1;
    }
}
