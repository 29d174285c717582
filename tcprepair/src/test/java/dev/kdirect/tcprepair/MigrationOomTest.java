package dev.kdirect.tcprepair;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Feature;
import dev.kdirect.testing.RequiresRealKernel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;

/**
 * An OutOfMemoryError injected ({@link MigrationFaults}) at each step before COMMIT, on either side, of a migration
 * in this JVM: the source rolls back (the connection KEPT, or RESTORED_HERE once released) and the connection works on
 * with its unread bytes; the target's session fails with nothing kept; no restored copy, socket or lock table is left
 * (the sockets of this process are what they were before the connection was made).
 */
@RequiresRealKernel(Feature.TCP_REPAIR)
@Timeout(120)
class MigrationOomTest {
    private Path dir;
    private long sockets;

    @BeforeEach
    void setUp() throws Exception {
        RequiredTools.require("nft");
        dir = Files.createTempDirectory("kdirect-oom");
        sockets = HostileTarget.sockets();
    }

    @AfterEach
    void tearDown() throws Exception {
        MigrationFaults.hook = null;
        Files.deleteIfExists(dir.resolve("t.sock"));
        Files.delete(dir);
    }

    @ParameterizedTest
    @ValueSource(strings = {"source frozen", "source connected", "source welcomed", "source sent", "source validated",
        "source released", "source restored", "target accepted", "target hello", "target received",
        "target validated", "target released", "target restored"})
    void sameNamespace(String step) throws Exception {
        injectAt(step, MigrationMode.SAME_NAMESPACE);
    }

    /** Separate namespaces, though here in one: the target's restore fails (the 4-tuple is held), then the cutover. */
    @ParameterizedTest
    @ValueSource(strings = {"source restored", "source cutover", "target restored"})
    void separateNamespaces(String step) throws Exception {
        injectAt(step, MigrationMode.SEPARATE_NAMESPACES);
    }

    private void injectAt(String step, MigrationMode mode) throws Exception {
        MigrationFaults.hook = s -> {
            if (s.equals(step)) {
                throw new OutOfMemoryError("injected at " + step);
            }
        };
        CompletableFuture<List<MigrationTarget.Incoming>> arrived;
        try (LoopbackConnection connection = new LoopbackConnection("127.0.0.1", "unread before " + step);
                MigrationTarget target = MigrationTarget.listen(dir.resolve("t.sock"))) {
            arrived = Accepting.start(target);
            MigrationSource.Report report = MigrationSource.to(dir.resolve("t.sock")).mode(mode)
                    .migrate(List.of(new MigrationSource.Outgoing(connection.server, new byte[0])));
            assertThat(report.failure()).contains("java.lang.OutOfMemoryError: injected at " + step);
            if (!step.equals("source frozen")) { // else the source never connected: the target saw nothing
                assertThat(arrived).failsWithin(Await.DEADLINE_MILLIS, TimeUnit.MILLISECONDS).withThrowableThat()
                        .withMessageContaining("OutOfMemoryError: injected at " + step);
            }
            MigrationSource.Outcome o = report.outcomes().getFirst();
            assertThat(o.status()).as(o.reason()).isIn(MigrationSource.Status.KEPT,
                    MigrationSource.Status.RESTORED_HERE);
            try (var channel = o.channel()) {
                connection.assertWorksThrough(channel);
            }
            String own = NetworkLock.processPrefix();
            assertThat(NetworkLock.tables()).noneMatch(t -> t.startsWith(own));
        }
        // the listening socket is closed once its accepting thread has left accept (closing the target ends it)
        assertThat(arrived).failsWithin(Await.DEADLINE_MILLIS, TimeUnit.MILLISECONDS);
        assertThat(HostileTarget.sockets()).as("sockets left after an OutOfMemoryError at %s", step)
                .isEqualTo(sockets);
    }
}
