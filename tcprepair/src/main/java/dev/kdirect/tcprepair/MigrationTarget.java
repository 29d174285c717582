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
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import javax.net.ssl.SSLContext;

/**
 * The receiving side of a migration ({@link MigrationSource} documents the protocol): listens on a Unix domain
 * socket ({@link #listen}) or, for sources on other hosts, on TCP with mutual TLS 1.3 ({@link #listenTls}), and per
 * session receives the images, restores each connection, reports each verdict, and hands the
 * restored channels to the application once the source commits.
 *
 * <p>Every connection is restored frozen ({@link TcpRepair#restoreFrozen}: still in repair mode, nothing sent) until
 * COMMIT: if this process dies before it, the kernel closes those sockets in repair mode, which sends nothing, and
 * the source's copy stays the only one. Without COMMIT (ABORT, the source closing, dying or hanging past the
 * timeout) the restored copies are released silently and the session ends with a {@link MigrationException}. With
 * separate namespaces the target also holds a {@link NetworkLock} on the 4-tuples while it restores, so nothing
 * reaches a half-restored socket, and nothing it might send reaches the peer, if this process dies in between.
 *
 * <p>The socket is created 0600 in a directory that no one but its owner (this user or root) may write to, and only
 * a source running as this process's uid, root or a uid given to {@link #allowUids} is heard (SO_PEERCRED, checked
 * before any frame is read); over TLS only a source whose certificate this side's truststore accepts (the handshake,
 * before any frame is read). What the source sends is bounded by the {@link MigrationLimits}, and the session ends
 * at one deadline ({@link #timeout}) from its start; any failure before COMMIT, an Error such as OutOfMemoryError
 * included, releases every restored copy and removes the lock.
 */
public final class MigrationTarget implements AutoCloseable {
    /**
     * A connection restored here, with the application state that came with it: in a JDK channel, or (a target
     * that restores {@link #byDescriptor}) in the socket {@code descriptor}, with {@code channel} null. The caller
     * owns either.
     */
    public record Incoming(SocketChannel channel, int descriptor, byte[] attachment, ConnectionState state) {
        public Incoming {
            if ((channel == null) == (descriptor < 0)) {
                throw new IllegalArgumentException("an incoming connection is a channel or a descriptor");
            }
            attachment = attachment.clone();
        }

        /** A connection restored in a JDK channel. */
        public Incoming(SocketChannel channel, byte[] attachment, ConnectionState state) {
            this(Objects.requireNonNull(channel), -1, attachment, state);
        }

        @Override
        public byte[] attachment() {
            return attachment.clone();
        }
    }

    private final ServerSocketChannel server;
    /** The Unix domain socket and its identity (to delete it), or null over TLS. */
    private final Path socket;
    private final Object created;
    /** Over TLS: this side's context; null on a Unix domain socket. */
    private final SSLContext tls;
    private MigrationProgress progress = MigrationProgress.NONE;
    private boolean byDescriptor;
    private Duration timeout = Duration.ofSeconds(10);
    private TcpRepair repair;
    private MigrationLimits limits;
    private int[] allowedUids = {};

    private MigrationTarget(ServerSocketChannel server, Path socket, Object created, SSLContext tls) {
        this.server = server;
        this.socket = socket;
        this.created = created;
        this.tls = tls;
    }

    /**
     * Listens on this path: a new socket, mode 0600, in a directory owned by this user or root that no one else may
     * write to.
     *
     * @throws MigrationException when the path is too long, its directory is missing or unsafe, or something is
     *     already there (a stale socket included: kdirect deletes only what it created; the message names it)
     */
    public static MigrationTarget listen(Path socket) throws IOException {
        UnixDomainSocketAddress address = UnixSocketGuard.address(socket);
        new UnixSocketGuard().checkTargetPath(socket);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            server.bind(address);
        } catch (IOException | RuntimeException e) {
            server.close();
            throw new MigrationException("cannot listen on " + socket + ": " + e.getMessage(), e);
        }
        try {
            return new MigrationTarget(server, socket, UnixSocketGuard.created(socket), null);
        } catch (IOException | RuntimeException e) {
            server.close();
            Files.deleteIfExists(socket); // bound by this process a moment ago, in a directory only its owner writes
            throw e;
        }
    }

    /**
     * Listens on this TCP address for sources on other hosts, with mutual TLS 1.3: this side presents the key in
     * {@code tls} ({@link MigrationTls#context}) and hears only a source whose certificate its truststore accepts;
     * a handshake that fails (a certificate missing, expired or signed by a CA not trusted here) refuses the source
     * before any frame is read. Port 0 picks a free port ({@link #localAddress}).
     */
    public static MigrationTarget listenTls(InetSocketAddress address, SSLContext tls) throws IOException {
        ServerSocketChannel server = ServerSocketChannel.open();
        try {
            server.bind(address);
        } catch (IOException | RuntimeException e) {
            server.close();
            throw new MigrationException("cannot listen on " + address + ": " + e.getMessage(), e);
        }
        return new MigrationTarget(server, null, null, Objects.requireNonNull(tls));
    }

    /** Where this target listens: its socket's path, or its TCP address (the port chosen included). */
    public SocketAddress localAddress() throws IOException {
        return server.getLocalAddress();
    }

    /**
     * Restores each connection in a socket made with socket(2) rather than in a JDK channel: {@link
     * Incoming#descriptor} names it, for frameworks that take a socket by descriptor (Netty's native transports).
     */
    public MigrationTarget byDescriptor() {
        this.byDescriptor = true;
        return this;
    }

    public MigrationTarget progress(MigrationProgress progress) {
        this.progress = progress;
        return this;
    }

    /**
     * The deadline of each session, from the source's connection to DONE (default 10 s): a source that has not
     * committed by then, however it paces its bytes, is given up on and what was restored is released.
     */
    public MigrationTarget timeout(Duration timeout) {
        this.timeout = timeout;
        return this;
    }

    public MigrationTarget repair(TcpRepair repair) {
        this.repair = repair;
        return this;
    }

    /** The limits on what a source may send (default {@link MigrationLimits#defaults}). */
    public MigrationTarget limits(MigrationLimits limits) {
        this.limits = Objects.requireNonNull(limits);
        return this;
    }

    /** Uids besides this process's own and root's whose sources are heard (Unix socket). */
    public MigrationTarget allowUids(int... uids) {
        this.allowedUids = uids.clone();
        return this;
    }

    /**
     * Waits for one source and runs its session. Returns the connections now live here (possibly none, when the
     * source sent none or all failed).
     *
     * @throws MigrationException when the session ended without COMMIT (nothing restored here was kept), or the
     *     source was refused (a uid not allowed, or a failed TLS handshake: no frame was read; the message names
     *     the certificate problem)
     */
    public List<Incoming> accept() throws IOException {
        TcpRepair tcp = repair != null ? repair : TcpRepair.system();
        UnixSocketGuard guard = new UnixSocketGuard(allowedUids);
        MigrationLimits bounds = limits != null ? limits : MigrationLimits.defaults();
        SocketChannel channel = server.accept();
        long deadline = System.nanoTime() + timeout.toNanos();
        MigrationWire wire;
        try {
            wire = new MigrationWire(tls == null ? new ControlChannel(channel, deadline, timeout.toMillis())
                    : TlsChannel.server(channel, tls, deadline, timeout.toMillis()), bounds);
        } catch (MigrationException e) {
            channel.close();
            throw new MigrationException("refused the source: " + e.getMessage(), e);
        } catch (Throwable t) {
            channel.close();
            throw t;
        }
        try (wire) {
            Session session = new Session(wire, tcp);
            try {
                if (tls == null) {
                    guard.checkPeer(channel, "source"); // over TLS the handshake has authenticated it
                }
                MigrationFaults.at("target accepted");
                return session.run();
            } catch (Throwable t) { // an Error too: nothing restored may outlive a session without COMMIT
                session.releaseAll();
                wire.abort(Abort.of(t));
                throw t instanceof MigrationException m ? m
                        : new MigrationException("migration aborted, nothing kept: " + MigrationWire.reasonOf(t), t);
            }
        }
    }

    /** One connection the source sent: its state (or why it was refused), attachment, and copy restored here. */
    private static final class Arrival {
        final int index;
        final byte[] attachment;
        final ConnectionState state;
        final String refusal;
        FrozenConnection restored;
        String failure;

        Arrival(int index, byte[] attachment, ConnectionState state, String refusal) {
            this.index = index;
            this.attachment = attachment;
            this.state = state;
            this.refusal = refusal;
        }
    }

    /** One session, in protocol order. */
    private final class Session {
        private final MigrationWire wire;
        private final TcpRepair tcp;
        private final Map<Integer, Arrival> arrivals = new LinkedHashMap<>();
        private boolean committed;

        Session(MigrationWire wire, TcpRepair tcp) {
            this.wire = wire;
            this.tcp = tcp;
        }

        List<Incoming> run() throws IOException {
            Hello hello = wire.expect(Hello.class);
            MigrationFaults.at("target hello");
            boolean sameNamespace = hello.mode() == MigrationMode.SAME_NAMESPACE;
            wire.send(new Welcome(MigrationWire.VERSION));
            receiveImages(hello.count());
            List<Arrival> valid = arrivals.values().stream().filter(a -> a.state != null).toList();
            for (Arrival a : arrivals.values()) {
                if (a.state == null || sameNamespace) {
                    verdict(a, a.state == null ? Code.REFUSED : Code.VALID, a.state == null ? a.refusal : "");
                }
            }
            MigrationFaults.at("target validated");
            restore(sameNamespace ? released() : valid, sameNamespace);
            wire.expect(Commit.class);
            return commit(sameNamespace);
        }

        /** Every IMAGE, each checked as it arrives; only its state and attachment are kept. */
        private void receiveImages(int count) throws IOException {
            for (int k = 0; k < count; k++) {
                Image image = wire.expect(Image.class);
                ConnectionState state = null;
                String refusal = null;
                try {
                    state = ConnectionImage.read(image.whole());
                } catch (InvalidImageException e) {
                    refusal = e.reason() + ": " + e.getMessage();
                }
                if (arrivals.putIfAbsent(image.index(), new Arrival(image.index(), image.attachment(), state,
                        refusal)) != null) {
                    throw new MigrationException("protocol error: connection " + image.index() + " sent twice");
                }
                progress.progress("received", k + 1, count);
            }
            MigrationFaults.at("target received");
        }

        /** Same namespace: the connections the source released, each one it was told is valid, once. */
        private List<Arrival> released() throws IOException {
            List<Arrival> released = new ArrayList<>();
            for (int index : wire.expect(Released.class).indices()) {
                Arrival a = arrivals.get(index);
                if (a == null || a.state == null || released.contains(a)) {
                    throw new MigrationException("protocol error: released connection " + index
                            + " was not valid here, or was released twice");
                }
                released.add(a);
            }
            MigrationFaults.at("target released");
            return released;
        }

        /** Restores each connection frozen (nothing sent until COMMIT) and reports RESTORED or FAILED for each. */
        private void restore(List<Arrival> toRestore, boolean sameNamespace) throws IOException {
            if (toRestore.isEmpty()) {
                return;
            }
            List<NetworkLock.Tuple> tuples = toRestore.stream().map(a -> NetworkLock.Tuple.of(a.state)).toList();
            // Same namespace: the source's lock covers these 4-tuples already.
            try (NetworkLock lock = sameNamespace ? null : NetworkLock.lock(tuples)) {
                ParallelSteps.forEach(toRestore.size(), "restored", progress, k -> {
                    Arrival a = toRestore.get(k);
                    try {
                        // same namespace: the source released the 4-tuple just now (see RetriedRestore)
                        a.restored = sameNamespace ? RetriedRestore.restoreFrozen(tcp, a.state, byDescriptor)
                                : byDescriptor ? tcp.restoreFrozenDescriptor(a.state) : tcp.restoreFrozen(a.state);
                    } catch (IOException | RuntimeException e) {
                        a.failure = e.toString();
                    }
                });
                MigrationFaults.at("target restored");
                for (Arrival a : toRestore) {
                    verdict(a, a.restored != null ? Code.RESTORED : Code.FAILED, a.restored != null ? "" : a.failure);
                }
            }
        }

        /** Past COMMIT the source has let go: nothing here may be released any more, whatever fails. */
        private List<Incoming> commit(boolean sameNamespace) throws IOException {
            committed = true;
            List<Arrival> restored = arrivals.values().stream().filter(a -> a.restored != null).toList();
            Incoming[] thawed = new Incoming[restored.size()];
            ParallelSteps.forEach(restored.size(), "thawed", MigrationProgress.NONE, k -> {
                FrozenConnection f = restored.get(k).restored;
                try {
                    if (sameNamespace) {
                        f.thawLocked(); // the source's lock holds here until DONE: a probe would be dropped
                    } else {
                        f.thaw(); // the probe tells the peer, now routed here, where the connection went on
                    }
                    thawed[k] = new Incoming(f.channel(), f.channel() == null ? f.descriptor() : -1,
                            restored.get(k).attachment, f.state());
                } catch (Throwable t) {
                    // stuck in repair mode (never seen: repair off on our own socket): the connection is lost;
                    // DONE's count, which covers only the live ones, tells the source
                    try {
                        if (f.channel() != null) {
                            f.channel().close();
                        } else {
                            tcp.kernel().close(f.descriptor());
                        }
                    } catch (IOException | RuntimeException closeFailed) {
                        // gone either way
                    }
                }
            });
            List<Incoming> live = new ArrayList<>();
            for (Incoming incoming : thawed) {
                if (incoming != null) {
                    live.add(incoming);
                }
            }
            wire.send(new Done(live.size()));
            return live;
        }

        private void verdict(Arrival a, Code code, String reason) throws IOException {
            wire.send(new Verdict(a.index, code, reason));
        }

        /** Before COMMIT: every restored copy closed in repair mode, which the peer never sees. */
        void releaseAll() {
            if (committed) {
                return;
            }
            for (Arrival a : arrivals.values()) {
                if (a.restored != null) {
                    try {
                        a.restored.release();
                    } catch (Throwable t) {
                        // the descriptor is gone either way; the others must still be released
                    }
                    a.restored = null;
                }
            }
        }
    }

    /** Stops listening and removes the socket file, if it is still the one this target created. */
    @Override
    public void close() throws IOException {
        server.close();
        if (socket != null) {
            UnixSocketGuard.deleteIfCreated(socket, created);
        }
    }
}
