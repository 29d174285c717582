package dev.kdirect.tcprepair;

import static dev.kdirect.tcprepair.MigrationWire.ABORT;
import static dev.kdirect.tcprepair.MigrationWire.COMMIT;
import static dev.kdirect.tcprepair.MigrationWire.DONE;
import static dev.kdirect.tcprepair.MigrationWire.HELLO;
import static dev.kdirect.tcprepair.MigrationWire.IMAGE;
import static dev.kdirect.tcprepair.MigrationWire.RELEASED;
import static dev.kdirect.tcprepair.MigrationWire.VERDICT;
import static dev.kdirect.tcprepair.MigrationWire.WELCOME;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The sending side of a live migration of TCP connections to another process over a Unix domain socket (see
 * {@link MigrationTarget}). It locks the connections' 4-tuples ({@link NetworkLock}), freezes each, sends the
 * images, and, depending on the {@link MigrationMode}, releases those the target took and rolls back the rest:
 * thawed in their channel, or (same namespace, after a failed restore) restored here from the source's own copy.
 * The lock is released in every case.
 *
 * <p>Protocol version 1, frames as in {@link MigrationWire} (length, type, payload, CRC-32C):
 * <pre>
 *  HELLO     source: magic "KDMIGRAT", u16 version, u8 mode (0 same namespace, 1 separate), u32 count
 *  WELCOME   target: u16 version (the target refuses another version with ABORT)
 *  IMAGE     source: u32 index, bytes image (u32 length + ConnectionImage), bytes attachment (application state)
 *  VERDICT   target: u32 index, u8 verdict (1 VALID, 2 REFUSED, 3 RESTORED, 4 FAILED), text reason
 *  RELEASED  source (same namespace): u32 n, n x u32 index: released here, restore them now
 *  COMMIT    source: the point of no return; the target thaws what it restored
 *  DONE      target: u32 connections now live at the target; it closes the session
 *  ABORT     either: text reason; the target releases what it restored (silently) and closes the session
 * </pre>
 * Same namespace: HELLO, WELCOME, IMAGE x n, VERDICT(VALID|REFUSED) x n, RELEASED, VERDICT(RESTORED|FAILED) per
 * released, COMMIT, DONE. Separate namespaces: HELLO, WELCOME, IMAGE x n, VERDICT(RESTORED|REFUSED|FAILED) x n,
 * cutover, COMMIT, DONE. Before COMMIT every failure (the target dies, hangs past the timeout, refuses, aborts)
 * rolls back; COMMIT is sent only when every step before it succeeded, and once it is delivered nothing rolls back.
 */
public final class MigrationSource {
    /** A connection to move and the application's state that travels with it. */
    public record Outgoing(SocketChannel channel, byte[] attachment) {
        public Outgoing {
            Objects.requireNonNull(channel);
            attachment = attachment.clone();
        }

        @Override
        public byte[] attachment() {
            return attachment.clone();
        }
    }

    /** Switches the traffic of the restored connections to the target (e.g. a route), before the source lets go. */
    @FunctionalInterface
    public interface Cutover {
        void switchTraffic(List<ConnectionState> restored) throws IOException;
    }

    /** Where a connection is after the migration. */
    public enum Status {
        /** Lives at the target now; its channel here is closed (released: nothing was sent). */
        MOVED,
        /** Stayed here in its own channel (thawed, or never frozen). */
        KEPT,
        /** Stayed here in a new channel restored from the source's copy (same namespace, the target failed). */
        RESTORED_HERE,
        /** Could not be moved nor kept (the reason says why); the connection is gone. */
        LOST
    }

    /** The outcome for one connection, in the order given; {@code channel} carries it here unless MOVED or LOST. */
    public record Outcome(int index, Status status, SocketChannel channel, String reason) {
    }

    /** The outcomes, and what failed (null when every step, the target's DONE included, went as planned). */
    public record Report(List<Outcome> outcomes, String failure, long lockedNanos) {
        public long count(Status status) {
            return outcomes.stream().filter(o -> o.status() == status).count();
        }
    }

    private final Path socket;
    private MigrationMode mode = MigrationMode.SEPARATE_NAMESPACES;
    private MigrationProgress progress = MigrationProgress.NONE;
    private Cutover cutover = restored -> { };
    private Duration timeout = Duration.ofSeconds(10);
    private TcpRepair repair;

    private MigrationSource(Path socket) {
        this.socket = socket;
    }

    /** A source that sends to the target listening on this Unix domain socket path. */
    public static MigrationSource to(Path socket) {
        return new MigrationSource(socket);
    }

    public MigrationSource mode(MigrationMode mode) {
        this.mode = mode;
        return this;
    }

    public MigrationSource progress(MigrationProgress progress) {
        this.progress = progress;
        return this;
    }

    /** Called (separate namespaces) after the target restored, before the source releases. */
    public MigrationSource cutover(Cutover cutover) {
        this.cutover = cutover;
        return this;
    }

    /** How long to wait for the target at any step before rolling back (default 10 s). */
    public MigrationSource timeout(Duration timeout) {
        this.timeout = timeout;
        return this;
    }

    public MigrationSource repair(TcpRepair repair) {
        this.repair = repair;
        return this;
    }

    private enum Held { NOT_FROZEN, FROZEN, RELEASED, DONE }

    /**
     * Moves the connections. Returns after the lock is released, with each connection's outcome.
     *
     * @throws NetworkLockException when the lock cannot be taken: nothing was touched
     */
    public Report migrate(List<Outgoing> connections) throws IOException {
        TcpRepair tcp = repair != null ? repair : TcpRepair.system();
        int n = connections.size();
        List<NetworkLock.Tuple> tuples = new ArrayList<>();
        for (Outgoing o : connections) {
            tuples.add(NetworkLock.Tuple.of(o.channel()));
        }
        FrozenConnection[] frozen = new FrozenConnection[n];
        Held[] held = new Held[n];
        Outcome[] outcomes = new Outcome[n];
        Arrays.fill(held, Held.NOT_FROZEN);
        String failure = null;
        long locked = System.nanoTime();
        NetworkLock lock = NetworkLock.lock(tuples);
        try {
            ParallelSteps.forEach(n, "frozen", progress, i -> {
                try {
                    frozen[i] = tcp.freeze(connections.get(i).channel());
                    held[i] = Held.FROZEN;
                } catch (IOException | RuntimeException e) {
                    outcomes[i] = new Outcome(i, Status.KEPT, connections.get(i).channel(), "not frozen: " + e);
                }
            });
            MigrationWire wire = null;
            try {
                SocketChannel control = SocketChannel.open(StandardProtocolFamily.UNIX);
                try {
                    control.connect(UnixDomainSocketAddress.of(socket));
                    wire = new MigrationWire(control, timeout.toMillis());
                } catch (IOException e) {
                    control.close();
                    throw new MigrationException("no migration target at " + socket + ": " + e.getMessage(), e);
                }
                failure = run(wire, tcp, connections, frozen, held, outcomes);
            } catch (IOException | RuntimeException e) {
                failure = e.getMessage() == null ? e.toString() : e.getMessage();
                if (wire != null) {
                    abort(wire, failure);
                }
                rollBack(tcp, frozen, held, outcomes, failure);
            } finally {
                if (wire != null) {
                    wire.close();
                }
            }
        } finally {
            try {
                lock.close();
            } catch (IOException e) {
                // the connections are where the report says, but their packets stay dropped until the table goes
                failure = (failure == null ? "" : failure + "; ") + "unlock failed: " + e.getMessage()
                        + "; remove it with: nft delete table inet " + lock.table();
            }
            locked = System.nanoTime() - locked;
        }
        return new Report(List.of(outcomes), failure, locked);
    }

    /** The session; past COMMIT nothing rolls back, so what goes wrong then is returned (null: all went well). */
    private String run(MigrationWire wire, TcpRepair tcp, List<Outgoing> connections, FrozenConnection[] frozen,
            Held[] held, Outcome[] outcomes) throws IOException {
        int n = frozen.length;
        List<Integer> sent = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (held[i] == Held.FROZEN) {
                sent.add(i);
            }
        }
        wire.send(HELLO, ByteBuffer.allocate(15).put(MigrationWire.MAGIC).putShort((short) MigrationWire.VERSION)
                .put((byte) (mode == MigrationMode.SAME_NAMESPACE ? 0 : 1)).putInt(sent.size()));
        int version = wire.expect(WELCOME).payload().getShort() & 0xffff;
        if (version != MigrationWire.VERSION) {
            throw new MigrationException("the target speaks protocol version " + version + ", this source "
                    + MigrationWire.VERSION);
        }
        for (int k = 0; k < sent.size(); k++) {
            int i = sent.get(k);
            byte[] image = ConnectionImage.write(frozen[i].state());
            byte[] attachment = connections.get(i).attachment();
            ByteBuffer b = ByteBuffer.allocate(12 + image.length + attachment.length).putInt(i);
            MigrationWire.putBytes(MigrationWire.putBytes(b, image), attachment);
            wire.send(IMAGE, b);
            progress.progress("sent", k + 1, sent.size());
        }
        List<ConnectionState> restored = new ArrayList<>();
        if (mode == MigrationMode.SAME_NAMESPACE) {
            List<Integer> valid = new ArrayList<>();
            for (int k = 0; k < sent.size(); k++) {
                Verdict v = verdict(wire, sent);
                if (v.code == MigrationWire.VALID) {
                    valid.add(v.index);
                } else {
                    frozen[v.index].thaw();
                    held[v.index] = Held.DONE;
                    outcomes[v.index] = new Outcome(v.index, Status.KEPT, frozen[v.index].channel(),
                            "refused by the target: " + v.reason);
                }
                progress.progress("validated", k + 1, sent.size());
            }
            ByteBuffer released = ByteBuffer.allocate(4 + 4 * valid.size()).putInt(valid.size());
            ParallelSteps.forEach(valid.size(), "released", MigrationProgress.NONE, k -> {
                frozen[valid.get(k)].release();
                held[valid.get(k)] = Held.RELEASED;
            });
            valid.forEach(released::putInt);
            wire.send(RELEASED, released);
            for (int k = 0; k < valid.size(); k++) {
                Verdict v = verdict(wire, valid);
                if (v.code == MigrationWire.RESTORED) {
                    restored.add(frozen[v.index].state()); // stays RELEASED: rolled back here until COMMIT
                } else {
                    outcomes[v.index] = restoreHere(tcp, v.index, frozen[v.index], "the target failed: " + v.reason);
                    held[v.index] = Held.DONE;
                }
                progress.progress("restored", k + 1, valid.size());
            }
            wire.send(COMMIT);
            for (int i : valid) {
                if (held[i] == Held.RELEASED) {
                    held[i] = Held.DONE;
                    outcomes[i] = new Outcome(i, Status.MOVED, null, "");
                }
            }
        } else {
            boolean[] ok = new boolean[n];
            for (int k = 0; k < sent.size(); k++) {
                Verdict v = verdict(wire, sent);
                if (v.code == MigrationWire.RESTORED) {
                    ok[v.index] = true;
                    restored.add(frozen[v.index].state());
                } else {
                    outcomes[v.index] = new Outcome(v.index, Status.KEPT, frozen[v.index].channel(),
                            (v.code == MigrationWire.REFUSED ? "refused by the target: " : "the target failed: ")
                                    + v.reason);
                }
                progress.progress("restored", k + 1, sent.size());
            }
            if (!restored.isEmpty()) {
                cutover.switchTraffic(restored);
            }
            wire.send(COMMIT); // delivered: the target owns the restored ones from now on
            for (int i : sent) {
                held[i] = Held.DONE; // past COMMIT nothing rolls back
                try {
                    if (ok[i]) {
                        frozen[i].release();
                        outcomes[i] = new Outcome(i, Status.MOVED, null, "");
                    } else {
                        frozen[i].thaw();
                    }
                } catch (IOException | RuntimeException e) {
                    outcomes[i] = ok[i] ? new Outcome(i, Status.MOVED, null, "closing here failed: " + e)
                            : new Outcome(i, Status.LOST, null, "thaw failed: " + e);
                }
            }
        }
        progress.progress("committed", restored.size(), sent.size());
        try {
            int live = wire.expect(DONE).getInt();
            return live == restored.size() ? null : "the target restored " + restored.size() + " connections but"
                    + " only " + live + " went live after COMMIT (leaving repair mode failed there): those are lost";
        } catch (IOException afterCommit) {
            // past the point of no return: the target owns them; nothing here to roll back
            return "no DONE from the target after COMMIT (" + afterCommit.getMessage() + "): the "
                    + restored.size() + " connections it restored are its own, whether or not it went on";
        }
    }

    private record Verdict(int index, int code, String reason) {
    }

    private static Verdict verdict(MigrationWire wire, List<Integer> expected) throws IOException {
        MigrationWire.Frame f = wire.expect(VERDICT);
        int index = f.getInt();
        int code = f.payload().get();
        if (!expected.contains(index) || code < MigrationWire.VALID || code > MigrationWire.FAILED) {
            throw new MigrationException("protocol error: a verdict " + code + " for connection " + index);
        }
        return new Verdict(index, code, f.text());
    }

    /** Restores the source's own copy (retried: a target that just died may still hold the 4-tuple a moment). */
    private static Outcome restoreHere(TcpRepair tcp, int index, FrozenConnection f, String why) {
        try {
            return new Outcome(index, Status.RESTORED_HERE, RetriedRestore.restore(tcp, f.state()), why);
        } catch (IOException | RuntimeException e) {
            return new Outcome(index, Status.LOST, null, why + "; restoring it here failed too: " + e);
        }
    }

    private static void abort(MigrationWire wire, String reason) {
        try {
            ByteBuffer b = ByteBuffer.allocate(MigrationWire.textBytes(reason));
            wire.send(ABORT, MigrationWire.putText(b, reason));
        } catch (IOException | RuntimeException gone) {
            // the target is gone: its frozen copies closed silently with it
        }
        wire.awaitEnd(); // the target closes the session once it has released its copies
    }

    /** Before COMMIT: everything goes back to the source, thawed, or restored from its copy if released. */
    private static void rollBack(TcpRepair tcp, FrozenConnection[] frozen, Held[] held, Outcome[] outcomes, String why) {
        for (int i = 0; i < frozen.length; i++) {
            switch (held[i]) {
                case FROZEN -> {
                    try {
                        frozen[i].thaw();
                        outcomes[i] = new Outcome(i, Status.KEPT, frozen[i].channel(), "rolled back: " + why);
                    } catch (IOException | RuntimeException e) {
                        outcomes[i] = new Outcome(i, Status.LOST, null, "thaw failed: " + e + " after: " + why);
                    }
                }
                case RELEASED -> {
                    outcomes[i] = restoreHere(tcp, i, frozen[i], "rolled back: " + why);
                }
                default -> { }
            }
            held[i] = Held.DONE;
        }
    }
}
