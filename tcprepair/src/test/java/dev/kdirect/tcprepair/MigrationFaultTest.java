package dev.kdirect.tcprepair;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kdirect.Feature;
import dev.kdirect.testing.RequiresRealKernel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Each failure point of a migration, on a loopback connection with unread bytes: the target killed (SIGKILL)
 * before its verdicts, the target killed after restoring but before its verdict, no target listening, an image
 * corrupted in transit, a restore that fails in the target, an image the target refuses (thawed while the lock
 * holds, which keeps a segment either way off the wire: {@link LockedSegment}), a lock that cannot be taken. In every
 * case the connection works on at the source (its unread bytes first, then fresh bytes both ways, no reset) and no
 * lock table is left. Past COMMIT nothing rolls back: a target ({@link ScriptedTarget}) that reports fewer
 * connections live than it restored, or sends no DONE, is the report's failure.
 */
@RequiresRealKernel(Feature.TCP_REPAIR)
@Timeout(120)
class MigrationFaultTest {
    private Path dir;
    private LoopbackConnection connection;

    @BeforeEach
    void setUp() throws Exception {
        RequiredTools.require("nft");
        dir = Files.createTempDirectory("kdirect-fault");
        connection = new LoopbackConnection("127.0.0.1", "unread before the move");
    }

    @AfterEach
    void tearDown() throws Exception {
        connection.close();
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        Files.delete(dir);
    }

    @Test
    void targetKilledBeforeAnyVerdictTheSourceThaws() throws Exception {
        MigrationSource.Outcome o = migrateToKilledTarget("received");
        assertThat(o.status()).isEqualTo(MigrationSource.Status.KEPT);
        assertThat(o.channel()).isSameAs(connection.server);
        connection.assertWorksThrough(o.channel());
    }

    @Test
    void targetKilledAfterRestoringBeforeItsVerdictTheSourceRestoresItsOwnCopy() throws Exception {
        MigrationSource.Outcome o = migrateToKilledTarget("restored");
        // same namespace: the source had released its socket, so the rollback is a restore from its copy
        assertThat(o.status()).as(o.reason()).isEqualTo(MigrationSource.Status.RESTORED_HERE);
        assertThat(connection.server.isOpen()).isFalse();
        try (var restored = o.channel()) {
            connection.assertWorksThrough(restored);
        }
    }

    @Test
    void noTargetListeningTheSourceThaws() throws Exception {
        MigrationSource.Report report = MigrationSource.to(dir.resolve("nobody.sock")).migrate(outgoing());
        assertThat(report.failure()).startsWith("no migration target at ");
        MigrationSource.Outcome o = report.outcomes().getFirst();
        assertThat(o.status()).isEqualTo(MigrationSource.Status.KEPT);
        connection.assertWorksThrough(o.channel());
        assertNoLockLeft();
    }

    @Test
    void anImageCorruptedInTransitIsRefusedAndTheSourceThaws() throws Exception {
        int helloFrame = 4 + 1 + 15 + 4;
        long insideTheImage = helloFrame + 4 + 1 + 4 + 4 + 40;
        try (MigrationTarget target = MigrationTarget.listen(dir.resolve("t.sock"));
                CorruptingRelay relay = new CorruptingRelay(dir.resolve("relay.sock"), dir.resolve("t.sock"),
                        insideTheImage)) {
            CompletableFuture<List<MigrationTarget.Incoming>> arrived = Accepting.start(target);
            MigrationSource.Report report = MigrationSource.to(dir.resolve("relay.sock"))
                    .mode(MigrationMode.SAME_NAMESPACE).migrate(outgoing());
            assertThat(report.failure()).contains("CRC-32C");
            assertThat(arrived).failsWithin(10, TimeUnit.SECONDS).withThrowableThat()
                    .withMessageContaining("corrupted in transit");
            MigrationSource.Outcome o = report.outcomes().getFirst();
            assertThat(o.status()).isEqualTo(MigrationSource.Status.KEPT);
            connection.assertWorksThrough(o.channel());
        }
        assertNoLockLeft();
    }

    @Test
    void aRestoreThatFailsInTheTargetIsRolledBackByThaw() throws Exception {
        try (MigrationTarget target = MigrationTarget.listen(dir.resolve("t.sock"))) {
            CompletableFuture<List<MigrationTarget.Incoming>> arrived = Accepting.start(target);
            // "separate namespaces" while the target is in this one: the frozen source socket holds the 4-tuple
            MigrationSource.Report report = MigrationSource.to(dir.resolve("t.sock"))
                    .mode(MigrationMode.SEPARATE_NAMESPACES).migrate(outgoing());
            assertThat(report.failure()).isNull();
            MigrationSource.Outcome o = report.outcomes().getFirst();
            assertThat(o.status()).isEqualTo(MigrationSource.Status.KEPT);
            assertThat(o.reason()).startsWith("the target failed: ").contains("Cannot assign requested address"); // EADDRNOTAVAIL: connect finds the 4-tuple taken
            assertThat(arrived.get(10, TimeUnit.SECONDS)).isEmpty();
            connection.assertWorksThrough(o.channel());
        }
        assertNoLockLeft();
    }

    @Test
    void aConnectionTheTargetRefusesIsThawedUnderTheLockAndWorksOnAtTheSource() throws Exception {
        List<String> lockViolations = new CopyOnWriteArrayList<>();
        try (ScriptedTarget target = new ScriptedTarget(dir.resolve("t.sock"), MigrationWire.Verdict.Code.REFUSED, 0)) {
            MigrationSource.Report report = MigrationSource.to(dir.resolve("t.sock"))
                    .mode(MigrationMode.SAME_NAMESPACE)
                    .progress((phase, done, total) -> {
                        if (phase.equals("validated") && done == total) {
                            // thawed while the lock holds (until DONE): nothing passes either way yet
                            lockViolations.addAll(LockCheck.run(
                                    () -> connection.serverSendsWhileLocked(connection.server)));
                            lockViolations.addAll(LockCheck.run(
                                    () -> connection.peerSendsWhileLocked(connection.server)));
                        }
                    })
                    .migrate(outgoing());
            assertThat(lockViolations).isEmpty();
            assertThat(report.failure()).isNull();
            MigrationSource.Outcome o = report.outcomes().getFirst();
            assertThat(o.status()).isEqualTo(MigrationSource.Status.KEPT);
            assertThat(o.reason()).isEqualTo("refused by the target: scripted " + MigrationWire.Verdict.Code.REFUSED);
            assertThat(o.channel()).isSameAs(connection.server);
            connection.assertWorksThrough(o.channel());
            target.finished();
        }
        assertNoLockLeft();
    }

    @Test
    void fewerConnectionsLiveAtTheTargetThanItRestoredIsTheReportsFailure() throws Exception {
        migrateToScriptedTarget(0, failure -> assertThat(failure).isEqualTo("the target restored 1 connections"
                + " but only 0 went live after COMMIT (leaving repair mode failed there): those are lost"));
    }

    @Test
    void noDoneAfterCommitIsTheReportsFailure() throws Exception {
        migrateToScriptedTarget(ScriptedTarget.NO_DONE, failure -> assertThat(failure)
                .startsWith("no DONE from the target after COMMIT (")
                .endsWith("): the 1 connections it restored are its own, whether or not it went on"));
    }

    @Test
    void aLockThatCannotBeTakenTouchesNothing() throws Exception {
        System.setProperty(Nft.PROPERTY, dir.resolve("no-nft").toString());
        try {
            assertThatThrownBy(() -> MigrationSource.to(dir.resolve("t.sock")).migrate(outgoing()))
                    .isInstanceOf(NetworkLockException.class).hasMessageContaining("apt-get install nftables");
        } finally {
            System.clearProperty(Nft.PROPERTY);
        }
        connection.assertWorksThrough(connection.server);
        assertNoLockLeft();
    }

    private MigrationSource.Outcome migrateToKilledTarget(String phase) throws Exception {
        try (JvmProcess target = JvmProcess.start("target", null, BlockingTarget.class,
                dir.resolve("t.sock").toString(), phase)) {
            target.expect(60_000, "LISTENING");
            CompletableFuture<MigrationSource.Report> migration = CompletableFuture.supplyAsync(() -> {
                try {
                    return MigrationSource.to(dir.resolve("t.sock")).mode(MigrationMode.SAME_NAMESPACE)
                            .timeout(java.time.Duration.ofSeconds(60)).migrate(outgoing());
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }, r -> Thread.ofPlatform().start(r));
            target.expect(60_000, "BLOCKED");
            long pid = target.process().pid();
            target.kill();
            MigrationSource.Report report = migration.get(60, TimeUnit.SECONDS);
            assertThat(report.failure()).contains("closed the migration session");
            assertNoLockLeft();
            String killed = NetworkLock.PREFIX + LockOwner.current().pidNamespace() + "_" + pid + "_";
            assertThat(NetworkLock.tables()).noneMatch(t -> t.startsWith(killed));
            return report.outcomes().getFirst();
        }
    }

    /**
     * A migration (separate namespaces) to a target that says it restored the connection and then, after COMMIT,
     * reports {@code liveAfterCommit} live or sends no DONE: past COMMIT nothing rolls back, the source let go
     * (MOVED, its channel closed) and only the report's failure, which {@code failure} checks, tells what happened.
     */
    private void migrateToScriptedTarget(int liveAfterCommit, Consumer<String> failure) throws Exception {
        try (ScriptedTarget target = new ScriptedTarget(dir.resolve("t.sock"), MigrationWire.Verdict.Code.RESTORED,
                liveAfterCommit)) {
            MigrationSource.Report report = MigrationSource.to(dir.resolve("t.sock"))
                    .mode(MigrationMode.SEPARATE_NAMESPACES).migrate(outgoing());
            failure.accept(report.failure());
            assertThat(report.outcomes().getFirst().status()).isEqualTo(MigrationSource.Status.MOVED);
            assertThat(connection.server.isOpen()).isFalse();
            target.finished();
        }
        assertNoLockLeft();
    }

    private List<MigrationSource.Outgoing> outgoing() {
        return List.of(new MigrationSource.Outgoing(connection.server, new byte[0]));
    }


    private static void assertNoLockLeft() throws IOException {
        String own = NetworkLock.processPrefix();
        assertThat(NetworkLock.tables()).noneMatch(t -> t.startsWith(own));
    }
}
