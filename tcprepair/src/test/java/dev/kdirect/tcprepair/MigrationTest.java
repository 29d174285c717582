package dev.kdirect.tcprepair;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Feature;
import dev.kdirect.testing.RequiresRealKernel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A successful same-namespace migration, source and target in this JVM (IPv4 and IPv6 loopback connections of a
 * server that keeps listening): while the connections are frozen a segment from each peer neither reaches them nor
 * draws a reset (the lock, {@link LockedSegment}); every connection arrives with its attachment and its unread bytes
 * (the locked segment after them), works both ways, the source's channels are closed, progress counts N of M on both
 * sides, and the lock is gone.
 */
@RequiresRealKernel(Feature.TCP_REPAIR)
@Timeout(120) // a segment the lock held waits for the peer's retransmission timer after it
class MigrationTest {

    @BeforeEach
    void tools() {
        RequiredTools.require("nft");
    }

    @Test
    void threeConnectionsMoveToAnotherTargetWithTheirStateAndKeepWorking() throws Exception {
        Path dir = Files.createTempDirectory("kdirect-mig");
        List<LoopbackConnection> connections = new ArrayList<>();
        List<String> sourceProgress = new CopyOnWriteArrayList<>();
        List<String> targetProgress = new CopyOnWriteArrayList<>();
        try (MigrationTarget target = MigrationTarget.listen(dir.resolve("t.sock"))
                .progress((phase, done, total) -> targetProgress.add(phase + " " + done + "/" + total))) {
            for (String host : List.of("127.0.0.1", "::1", "127.0.0.1")) {
                connections.add(new LoopbackConnection(host, "unread by " + host + " #" + connections.size()));
            }
            List<MigrationSource.Outgoing> out = new ArrayList<>();
            for (int i = 0; i < connections.size(); i++) {
                out.add(new MigrationSource.Outgoing(connections.get(i).server,
                        ("state " + i).getBytes(StandardCharsets.US_ASCII)));
            }
            CompletableFuture<List<MigrationTarget.Incoming>> arrived = Accepting.start(target);
            List<String> lockViolations = new CopyOnWriteArrayList<>();
            MigrationSource.Report report = MigrationSource.to(dir.resolve("t.sock"))
                    .mode(MigrationMode.SAME_NAMESPACE)
                    .progress((phase, done, total) -> {
                        sourceProgress.add(phase + " " + done + "/" + total);
                        if (phase.equals("frozen") && done == total) {
                            // all frozen, nothing sent yet: the lock must keep the peers' segments off them
                            for (LoopbackConnection c : connections) {
                                lockViolations.addAll(LockCheck.run(() -> c.peerSendsWhileLocked(c.server)));
                            }
                        }
                    })
                    .migrate(out);

            assertThat(lockViolations).isEmpty();
            assertThat(report.failure()).isNull();
            assertThat(report.count(MigrationSource.Status.MOVED)).as(report.outcomes().toString()).isEqualTo(3);
            List<MigrationTarget.Incoming> incoming = arrived.get();
            assertThat(incoming).hasSize(3);
            for (int i = 0; i < 3; i++) {
                LoopbackConnection c = connections.get(i);
                assertThat(c.server.isOpen()).isFalse();
                MigrationTarget.Incoming in = incoming.get(i);
                assertThat(new String(in.attachment(), StandardCharsets.US_ASCII)).isEqualTo("state " + i);
                assertThat(in.channel().getRemoteAddress()).isEqualTo(c.peer.getLocalAddress());
                c.assertWorksThrough(in.channel());
                in.channel().close();
            }
            assertThat(sourceProgress).contains("frozen 3/3", "sent 3/3", "validated 3/3", "restored 3/3",
                    "committed 3/3");
            assertThat(targetProgress).containsSubsequence("received 1/3", "received 3/3", "restored 1/3",
                    "restored 3/3");
            String own = NetworkLock.processPrefix();
            assertThat(NetworkLock.tables()).noneMatch(t -> t.startsWith(own));
        } finally {
            for (LoopbackConnection c : connections) {
                c.close();
            }
            Files.deleteIfExists(dir.resolve("t.sock"));
            Files.delete(dir);
        }
    }
}
