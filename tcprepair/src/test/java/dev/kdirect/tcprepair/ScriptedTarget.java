package dev.kdirect.tcprepair;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A migration target that speaks the protocol through {@link MigrationWire} but answers as scripted, to drive a
 * source where a well-behaved {@link MigrationTarget} never goes: one verdict for every image (REFUSED for a valid
 * one; RESTORED without restoring anything, so a connection the source lets go is lost), then, after COMMIT, a DONE
 * counting a given number of live connections, or no DONE at all (the session closed). One session, on a thread.
 */
final class ScriptedTarget implements AutoCloseable {
    /** {@code liveAfterCommit} for a target that closes the session after COMMIT without a DONE. */
    static final int NO_DONE = -1;

    private final ServerSocketChannel server;
    private final Path path;
    private final CompletableFuture<Void> session = new CompletableFuture<>();

    ScriptedTarget(Path path, MigrationWire.Verdict.Code verdict, int liveAfterCommit) throws IOException {
        this.path = path;
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX).bind(UnixDomainSocketAddress.of(path));
        Thread.ofPlatform().daemon().start(() -> {
            try (MigrationWire wire = new MigrationWire(server.accept(), System.nanoTime() + 60_000_000_000L, 60_000,
                    MigrationLimits.defaults())) {
                run(wire, verdict, liveAfterCommit);
                session.complete(null);
            } catch (IOException | RuntimeException e) {
                session.completeExceptionally(e);
            }
        });
    }

    private static void run(MigrationWire wire, MigrationWire.Verdict.Code verdict, int liveAfterCommit)
            throws IOException {
        MigrationWire.Hello hello = wire.expect(MigrationWire.Hello.class);
        wire.send(new MigrationWire.Welcome(MigrationWire.VERSION));
        for (int k = 0; k < hello.count(); k++) {
            int index = wire.expect(MigrationWire.Image.class).index();
            wire.send(new MigrationWire.Verdict(index, verdict, "scripted " + verdict));
        }
        if (hello.mode() == MigrationMode.SAME_NAMESPACE) { // nothing was VALID: the source must release none
            int released = wire.expect(MigrationWire.Released.class).indices().length;
            if (released != 0) {
                throw new MigrationException("the source released " + released + " connections not valid here");
            }
        }
        wire.expect(MigrationWire.Commit.class);
        if (liveAfterCommit != NO_DONE) {
            wire.send(new MigrationWire.Done(liveAfterCommit));
        }
    }

    /** Waits for the session's end; throws what went wrong on this side of it. */
    void finished() throws Exception {
        session.get(60, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws IOException {
        server.close();
        Files.deleteIfExists(path);
    }
}
