package dev.kdirect.tcprepair;

import dev.kdirect.tcprepair.MigrationWire.Abort;
import dev.kdirect.tcprepair.MigrationWire.Commit;
import dev.kdirect.tcprepair.MigrationWire.Done;
import dev.kdirect.tcprepair.MigrationWire.Hello;
import dev.kdirect.tcprepair.MigrationWire.Image;
import dev.kdirect.tcprepair.MigrationWire.Released;
import dev.kdirect.tcprepair.MigrationWire.Verdict;
import dev.kdirect.tcprepair.MigrationWire.Verdict.Code;
import dev.kdirect.tcprepair.MigrationWire.Welcome;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import javax.net.ssl.SSLContext;

/**
 * The sending side of a live migration of TCP connections to another process (see {@link MigrationTarget}), over
 * a Unix domain socket ({@link #to}) or, to another host, over TCP with mutual TLS 1.3 ({@link #toTls}). It locks
 * the connections' 4-tuples ({@link TcpRepair#lock}: a {@link NetworkLock}, or one a repair helper holds), freezes each, sends the images, and, depending on the
 * {@link MigrationMode}, releases those the target took and rolls back the rest: thawed in their channel, or (same
 * namespace, after a failed restore) restored here from the source's own copy. The lock is released in every case.
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
 * cutover, COMMIT, DONE. Before COMMIT every failure (the target dies, hangs past the timeout, refuses, aborts) rolls
 * back; COMMIT is sent only when every step before it succeeded, and once it is delivered nothing rolls back.
 *
 * <p>The source refuses a socket path that is not a socket or is owned by a uid other than its own, root's or one given
 * to {@link #allowUids}, and a target process running as any other uid (SO_PEERCRED), before it sends anything. Over
 * TLS it refuses a target that does not prove its name with a certificate its truststore accepts before it sends a
 * frame; a target that refuses this side's certificate does so before it reads a frame, and the source learns it (TLS
 * 1.3 reports it after the client's last handshake message) while it waits for WELCOME, before any image is sent
 * ({@link TlsChannel}). The whole session, connecting included, ends at one deadline ({@link #timeout}); whatever fails
 * before COMMIT, an Error such as OutOfMemoryError included, rolls everything back and is the report's failure.
 */
public final class MigrationSource {
    /**
     * A connection to move and the application's state that travels with it: a JDK channel, or the descriptor of a
     * socket another owner holds ({@link #ofDescriptor}), with {@code owner} closing it when it moves.
     */
    public record Outgoing(SocketChannel channel, int descriptor, java.io.Closeable owner, byte[] attachment) {
        public Outgoing {
            if ((channel == null) == (owner == null) || (channel == null) == (descriptor < 0)) {
                throw new IllegalArgumentException("an outgoing connection is a channel, or a descriptor and its owner");
            }
            attachment = attachment.clone();
        }

        /** A JDK channel: it is thawed in place when it stays, closed (in repair mode) when it moves. */
        public Outgoing(SocketChannel channel, byte[] attachment) {
            this(Objects.requireNonNull(channel), -1, null, attachment);
        }

        /**
         * The connected TCP socket {@code descriptor}, which a framework owns (Netty's native transports): when it
         * moves, {@code owner} is closed while the socket is still in repair mode (it must close the descriptor,
         * so nothing is sent and the owner never closes the number again); when it stays it is thawed, open, and
         * stays the owner's.
         */
        public static Outgoing ofDescriptor(int descriptor, java.io.Closeable owner, byte[] attachment) {
            return new Outgoing(null, descriptor, Objects.requireNonNull(owner), attachment);
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

    /**
     * The outcome for one connection, in the order given; {@code channel} carries it here unless MOVED or LOST (null
     * for a connection given by descriptor: KEPT, it stays in its descriptor; RESTORED_HERE, in the new socket
     * {@code descriptor}, which the caller owns).
     */
    public record Outcome(int index, Status status, SocketChannel channel, int descriptor, String reason) {
        public Outcome(int index, Status status, SocketChannel channel, String reason) {
            this(index, status, channel, -1, reason);
        }
    }

    /** The outcomes, and what failed (null when every step, the target's DONE included, went as planned). */
    public record Report(List<Outcome> outcomes, String failure, long lockedNanos) {
        public long count(Status status) {
            return outcomes.stream().filter(o -> o.status() == status).count();
        }
    }

    /** The target's Unix domain socket, or null over TLS. */
    private final Path socket;
    /** Over TLS: the target's address, this side's context and the name the target's certificate must carry. */
    private final InetSocketAddress tlsTarget;
    private final SSLContext tls;
    private String targetName;
    private MigrationMode mode = MigrationMode.SEPARATE_NAMESPACES;
    private MigrationProgress progress = MigrationProgress.NONE;
    private Cutover cutover = restored -> { };
    private Duration timeout = Duration.ofSeconds(10);
    private TcpRepair repair;
    private MigrationLimits limits;
    private int[] allowedUids = {};

    private MigrationSource(Path socket, InetSocketAddress tlsTarget, SSLContext tls) {
        this.socket = socket;
        this.tlsTarget = tlsTarget;
        this.tls = tls;
        this.targetName = tlsTarget == null ? null : tlsTarget.getHostString();
    }

    /**
     * A source that sends to the target listening on this Unix domain socket path.
     *
     * @throws IllegalArgumentException when the path is longer than a Unix domain socket's path can be
     */
    public static MigrationSource to(Path socket) {
        int bytes = socket.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (bytes > UnixSocketGuard.MAX_PATH_BYTES) {
            throw new IllegalArgumentException("the socket path " + socket + " is " + bytes + " bytes long; a Unix"
                    + " domain socket's path holds at most " + UnixSocketGuard.MAX_PATH_BYTES + " bytes (sun_path)");
        }
        return new MigrationSource(socket, null, null);
    }

    /**
     * A source that sends to the target listening at {@code target} ({@link MigrationTarget#listenTls}), on another
     * host, over TCP with mutual TLS 1.3: this side presents the key in {@code tls} ({@link MigrationTls#context})
     * and accepts only a target whose certificate its truststore accepts and whose subject alternative names
     * include the target's host name or IP address as given here (or the name given to {@link #targetName}). No
     * frame is sent before the handshake succeeds; a failed one rolls back like any other failure, with the
     * certificate problem in the report.
     */
    public static MigrationSource toTls(InetSocketAddress target, SSLContext tls) {
        if (target.isUnresolved()) {
            throw new IllegalArgumentException("the target address " + target + " does not resolve");
        }
        return new MigrationSource(null, target, Objects.requireNonNull(tls));
    }

    /**
     * Over TLS: the DNS name or IP address the target's certificate must carry, when it is not the host given to
     * {@link #toTls} (say, an address is given and the certificate names the host).
     */
    public MigrationSource targetName(String name) {
        if (tls == null) {
            throw new IllegalStateException("a target name is checked only over TLS (toTls)");
        }
        this.targetName = Objects.requireNonNull(name);
        return this;
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

    /**
     * The deadline of the whole session, from the call to {@link #migrate} to the target's DONE (default 10 s): a
     * target that has not answered by then is given up on and everything rolls back.
     */
    public MigrationSource timeout(Duration timeout) {
        this.timeout = timeout;
        return this;
    }

    public MigrationSource repair(TcpRepair repair) {
        this.repair = repair;
        return this;
    }

    /** The limits on what the target's frames may make this side hold (default {@link MigrationLimits#defaults}). */
    public MigrationSource limits(MigrationLimits limits) {
        this.limits = Objects.requireNonNull(limits);
        return this;
    }

    /** Uids besides this process's own and root's that the target's socket and process may run as (Unix socket). */
    public MigrationSource allowUids(int... uids) {
        this.allowedUids = uids.clone();
        return this;
    }

    /** Where a connection stands: not frozen (not sent), frozen here, released here (the target restores it), done. */
    private enum Held { NOT_FROZEN, FROZEN, RELEASED, DONE }

    /** One connection's way through the migration. */
    private static final class Move {
        final int index;
        final Outgoing outgoing;
        FrozenConnection frozen;
        Held held = Held.NOT_FROZEN;
        /** Separate namespaces: the target restored it (it moves at COMMIT). */
        boolean restoredThere;
        Outcome outcome;

        Move(int index, Outgoing outgoing) {
            this.index = index;
            this.outgoing = outgoing;
        }

        void keep(String reason) {
            outcome = new Outcome(index, Status.KEPT, frozen.channel(), reason);
        }
    }

    /**
     * Moves the connections. Returns after the lock is released, with each connection's outcome.
     *
     * @throws NetworkLockException when the lock cannot be taken: nothing was touched
     */
    public Report migrate(List<Outgoing> connections) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        TcpRepair tcp = repair != null ? repair : TcpRepair.system();
        try (Arena queues = Arena.ofShared()) {
            // the frozen connections' queues stay in native memory from the peek to the IMAGE frames' gathering
            // writes (and a rollback's restore), and are freed when the session is over
            return migrate(tcp.queuesIn(queues), connections, deadline);
        }
    }

    private Report migrate(TcpRepair tcp, List<Outgoing> connections, long deadline) throws IOException {
        Session session = new Session(tcp, new UnixSocketGuard(allowedUids),
                limits != null ? limits : MigrationLimits.defaults(), connections, deadline);
        for (Outgoing o : connections) {
            if (o.channel() != null) {
                NetworkLock.Tuple.of(o.channel()); // an unconnected channel is refused before anything is locked
            }
        }
        long locked = System.nanoTime();
        ConnectionLock lock = tcp.lock(connections.stream().map(Outgoing::channel).filter(Objects::nonNull).toList(),
                connections.stream().filter(o -> o.channel() == null).mapToInt(Outgoing::descriptor).toArray());
        String failure = null;
        try {
            failure = session.run();
        } finally {
            try {
                lock.close();
            } catch (IOException e) {
                // the connections are where the report says, but their packets stay dropped until the table goes
                failure = (failure == null ? "" : failure + "; ") + "unlock failed: " + e.getMessage()
                        + "; " + lock.removal();
            }
            locked = System.nanoTime() - locked;
        }
        return new Report(session.moves.stream().map(m -> m.outcome).toList(), failure, locked);
    }

    /** One migration, in protocol order; the lock is held around it. */
    private final class Session {
        private final TcpRepair tcp;
        private final UnixSocketGuard guard;
        private final MigrationLimits limits;
        private final List<Move> moves = new ArrayList<>();
        private final long deadline;
        private MigrationWire wire;
        private boolean committed;

        Session(TcpRepair tcp, UnixSocketGuard guard, MigrationLimits limits, List<Outgoing> connections,
                long deadline) {
            this.tcp = tcp;
            this.guard = guard;
            this.limits = limits;
            this.deadline = deadline;
            for (Outgoing o : connections) {
                moves.add(new Move(moves.size(), o));
            }
        }

        /** The session; returns its failure (null: all went well). Before COMMIT any failure rolls back. */
        String run() {
            try {
                freeze();
                List<Move> sent = moves.stream().filter(m -> m.held == Held.FROZEN).toList();
                connect();
                hello(sent.size());
                sendImages(sent);
                return mode == MigrationMode.SAME_NAMESPACE ? sameNamespace(sent) : separateNamespaces(sent);
            } catch (Throwable t) { // an Error too: what was frozen or released must come back all the same
                String failure = MigrationWire.reasonOf(t);
                if (committed) {
                    return "after COMMIT: " + failure;
                }
                if (wire != null) {
                    wire.abort(Abort.of(t));
                    wire.awaitEnd(); // the target closes the session once it has released its copies
                }
                rollBack(failure);
                return failure;
            } finally {
                if (wire != null) {
                    try {
                        wire.close();
                    } catch (IOException e) {
                        // the session is over either way
                    }
                }
            }
        }

        private void freeze() throws IOException {
            ParallelSteps.forEach(moves.size(), "frozen", progress, i -> {
                Move m = moves.get(i);
                try {
                    m.frozen = m.outgoing.channel() != null ? tcp.freeze(m.outgoing.channel())
                            : tcp.freeze(m.outgoing.descriptor(), m.outgoing.owner());
                    m.held = Held.FROZEN;
                } catch (IOException | RuntimeException e) {
                    m.outcome = new Outcome(i, Status.KEPT, m.outgoing.channel(), "not frozen: " + e);
                }
            });
            MigrationFaults.at("source frozen");
        }

        /** Connects to the target and authenticates it, before any frame is sent. */
        private void connect() throws IOException {
            ControlChannel channel = socket != null ? unixChannel() : tlsChannel();
            wire = new MigrationWire(channel, limits);
            MigrationFaults.at("source connected");
        }

        /** Once the socket file and then the process behind it are known to be allowed (SO_PEERCRED). */
        private ControlChannel unixChannel() throws IOException {
            UnixSocketGuard.address(socket);
            guard.checkSourcePath(socket);
            SocketChannel channel = connected(UnixDomainSocketAddress.of(socket));
            try {
                guard.checkPeer(channel, "target");
                return new ControlChannel(channel, deadline, timeout.toMillis());
            } catch (Throwable t) {
                channel.close();
                throw t;
            }
        }

        /** Once the TLS handshake proved the target is {@code targetName} and it accepted this side's certificate. */
        private ControlChannel tlsChannel() throws IOException {
            return TlsChannel.client(connected(tlsTarget), tls, targetName, deadline, timeout.toMillis());
        }

        private SocketChannel connected(SocketAddress address) throws IOException {
            try {
                return ControlChannel.connect(address, deadline);
            } catch (MigrationException e) {
                throw e;
            } catch (IOException e) {
                throw new MigrationException("no migration target at " + address + ": " + e.getMessage(), e);
            }
        }

        private void hello(int count) throws IOException {
            wire.send(new Hello(mode, count));
            wire.expect(Welcome.class); // its version is checked as it is decoded
            MigrationFaults.at("source welcomed");
        }

        private void sendImages(List<Move> sent) throws IOException {
            for (int k = 0; k < sent.size(); k++) {
                Move m = sent.get(k);
                wire.send(new Image(m.index, ConnectionImage.parts(m.frozen.state()), m.outgoing.attachment()));
                progress.progress("sent", k + 1, sent.size());
            }
            MigrationFaults.at("source sent");
        }

        /** Validate, release, restore there (or here, from the source's copy), COMMIT. */
        private String sameNamespace(List<Move> sent) throws IOException {
            List<Move> valid = new ArrayList<>();
            Set<Integer> due = indices(sent);
            for (int k = 0; k < sent.size(); k++) {
                Verdict v = verdict(due, EnumSet.of(Code.VALID, Code.REFUSED));
                Move m = moves.get(v.index());
                if (v.code() == Code.VALID) {
                    valid.add(m);
                } else {
                    m.frozen.thaw();
                    m.held = Held.DONE;
                    m.keep("refused by the target: " + v.reason());
                }
                progress.progress("validated", k + 1, sent.size());
            }
            MigrationFaults.at("source validated");
            ParallelSteps.forEach(valid.size(), "released", MigrationProgress.NONE, k -> {
                valid.get(k).frozen.release();
                valid.get(k).held = Held.RELEASED;
            });
            MigrationFaults.at("source released");
            wire.send(new Released(valid.stream().mapToInt(m -> m.index).toArray()));
            int restored = 0;
            due = indices(valid);
            for (int k = 0; k < valid.size(); k++) {
                Verdict v = verdict(due, EnumSet.of(Code.RESTORED, Code.FAILED));
                Move m = moves.get(v.index());
                if (v.code() == Code.RESTORED) {
                    restored++; // stays RELEASED: rolled back here until COMMIT
                } else {
                    m.outcome = restoreHere(m, "the target failed: " + v.reason());
                    m.held = Held.DONE;
                }
                progress.progress("restored", k + 1, valid.size());
            }
            MigrationFaults.at("source restored");
            commit();
            for (Move m : valid) {
                if (m.held == Held.RELEASED) {
                    m.held = Held.DONE;
                    m.outcome = new Outcome(m.index, Status.MOVED, null, "");
                }
            }
            return awaitDone(restored, sent.size());
        }

        /** Restore there, cut the traffic over, COMMIT, release what moved and thaw the rest. */
        private String separateNamespaces(List<Move> sent) throws IOException {
            List<ConnectionState> restored = new ArrayList<>();
            Set<Integer> due = indices(sent);
            for (int k = 0; k < sent.size(); k++) {
                Verdict v = verdict(due, EnumSet.of(Code.RESTORED, Code.REFUSED, Code.FAILED));
                Move m = moves.get(v.index());
                if (v.code() == Code.RESTORED) {
                    m.restoredThere = true;
                    restored.add(m.frozen.state());
                } else { // thawed after COMMIT, while the lock still holds
                    m.keep((v.code() == Code.REFUSED ? "refused by the target: " : "the target failed: ")
                            + v.reason());
                }
                progress.progress("restored", k + 1, sent.size());
            }
            MigrationFaults.at("source restored");
            if (!restored.isEmpty()) {
                cutover.switchTraffic(restored);
            }
            MigrationFaults.at("source cutover");
            commit(); // delivered: the target owns the restored ones from now on
            for (Move m : sent) {
                m.held = Held.DONE;
                try {
                    if (m.restoredThere) {
                        m.frozen.release();
                        m.outcome = new Outcome(m.index, Status.MOVED, null, "");
                    } else {
                        m.frozen.thaw();
                    }
                } catch (Throwable t) {
                    m.outcome = m.restoredThere ? new Outcome(m.index, Status.MOVED, null, "closing here failed: " + t)
                            : new Outcome(m.index, Status.LOST, null, "thaw failed: " + t);
                }
            }
            return awaitDone(restored.size(), sent.size());
        }

        private void commit() throws IOException {
            wire.send(new Commit());
            committed = true; // past the point of no return: nothing rolls back from here
        }

        /** The target's DONE; what goes wrong now is only reported, as the target owns the moved connections. */
        private String awaitDone(int restored, int sent) {
            progress.progress("committed", restored, sent);
            try {
                int live = wire.expect(Done.class).live();
                return live == restored ? null : "the target restored " + restored + " connections but only " + live
                        + " went live after COMMIT (leaving repair mode failed there): those are lost";
            } catch (IOException afterCommit) {
                return "no DONE from the target after COMMIT (" + afterCommit.getMessage() + "): the " + restored
                        + " connections it restored are its own, whether or not it went on";
            }
        }

        /** The next verdict, which must be for a connection in {@code due} (then no longer due), with a code allowed. */
        private Verdict verdict(Set<Integer> due, Set<Code> allowed) throws IOException {
            Verdict v = wire.expect(Verdict.class);
            if (!allowed.contains(v.code()) || !due.remove(v.index())) {
                throw new MigrationException("protocol error: a verdict " + v.code() + " for connection " + v.index()
                        + " (not due: expected one of " + allowed + " for " + due + ")");
            }
            return v;
        }

        /** Before COMMIT: everything goes back to the source, thawed, or restored from its copy if released. */
        private void rollBack(String why) {
            for (Move m : moves) {
                switch (m.held) {
                    case FROZEN -> {
                        try {
                            m.frozen.thaw();
                            m.keep("rolled back: " + why);
                        } catch (Throwable t) {
                            m.outcome = new Outcome(m.index, Status.LOST, null, "thaw failed: " + t + " after: " + why);
                        }
                    }
                    case RELEASED -> m.outcome = restoreHere(m, "rolled back: " + why);
                    default -> { }
                }
                m.held = Held.DONE;
            }
        }

        /** Restores the source's own copy (retried: a target that just died may still hold the 4-tuple a moment). */
        private Outcome restoreHere(Move m, String why) {
            try {
                if (m.outgoing.channel() == null) {
                    return new Outcome(m.index, Status.RESTORED_HERE, null,
                            RetriedRestore.restoreDescriptor(tcp, m.frozen.state()), why);
                }
                return new Outcome(m.index, Status.RESTORED_HERE, RetriedRestore.restore(tcp, m.frozen.state()), why);
            } catch (Throwable t) {
                return new Outcome(m.index, Status.LOST, null, why + "; restoring it here failed too: " + t);
            }
        }
    }

    private static Set<Integer> indices(List<Move> moves) {
        Set<Integer> indices = new HashSet<>();
        moves.forEach(m -> indices.add(m.index));
        return indices;
    }
}
