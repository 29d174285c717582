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
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The receiving side of a migration ({@link MigrationSource} documents the protocol): listens on a Unix domain
 * socket, and per session receives the images, restores each connection, reports each verdict, and hands the
 * restored channels to the application once the source commits.
 *
 * <p>Every connection is restored frozen ({@link TcpRepair#restoreFrozen}: still in repair mode, nothing sent) until
 * COMMIT: if this process dies before it, the kernel closes those sockets in repair mode, which sends nothing, and
 * the source's copy stays the only one. Without COMMIT (ABORT, the source closing, dying or hanging past the
 * timeout) the restored copies are released silently and the session ends with a {@link MigrationException}. With
 * separate namespaces the target also holds a {@link NetworkLock} on the 4-tuples while it restores, so nothing
 * reaches a half-restored socket, and nothing it might send reaches the peer, if this process dies in between.
 */
public final class MigrationTarget implements AutoCloseable {
    /** A connection restored here, with the application state that came with it. */
    public record Incoming(SocketChannel channel, byte[] attachment, ConnectionState state) {
        public Incoming {
            Objects.requireNonNull(channel);
            attachment = attachment.clone();
        }

        @Override
        public byte[] attachment() {
            return attachment.clone();
        }
    }

    private final ServerSocketChannel server;
    private final Path socket;
    private MigrationProgress progress = MigrationProgress.NONE;
    private Duration timeout = Duration.ofSeconds(10);
    private TcpRepair repair;

    private MigrationTarget(ServerSocketChannel server, Path socket) {
        this.server = server;
        this.socket = socket;
    }

    /** Listens on this path (a stale socket file left by a dead target is replaced). */
    public static MigrationTarget listen(Path socket) throws IOException {
        Files.deleteIfExists(socket);
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        return new MigrationTarget(server, socket);
    }

    public MigrationTarget progress(MigrationProgress progress) {
        this.progress = progress;
        return this;
    }

    /** How long to wait for the source at any step before discarding what was restored (default 10 s). */
    public MigrationTarget timeout(Duration timeout) {
        this.timeout = timeout;
        return this;
    }

    public MigrationTarget repair(TcpRepair repair) {
        this.repair = repair;
        return this;
    }

    /**
     * Waits for one source and runs its session. Returns the connections now live here (possibly none, when the
     * source sent none or all failed).
     *
     * @throws MigrationException when the session ended without COMMIT: nothing restored here was kept
     */
    public List<Incoming> accept() throws IOException {
        TcpRepair tcp = repair != null ? repair : TcpRepair.system();
        try (MigrationWire wire = new MigrationWire(server.accept(), timeout.toMillis())) {
            Map<Integer, Restored> restored = new LinkedHashMap<>();
            try {
                return session(wire, tcp, restored);
            } catch (IOException | RuntimeException e) {
                for (Restored r : restored.values()) {
                    try {
                        r.frozen.release(); // closed in repair mode: the peer sees nothing of this copy
                    } catch (IOException | RuntimeException closeFailed) {
                        // the descriptor is gone either way; the others must still be released
                    }
                }
                String reason = e.getMessage() == null ? e.toString() : e.getMessage();
                try {
                    wire.send(ABORT, MigrationWire.putText(ByteBuffer.allocate(MigrationWire.textBytes(reason)),
                            reason));
                } catch (IOException | RuntimeException gone) {
                    // the source is gone or will see the session close
                }
                throw e instanceof MigrationException m ? m
                        : new MigrationException("migration aborted, nothing kept: " + reason, e);
            }
        }
    }

    private record Received(int index, byte[] image, byte[] attachment) {
    }

    private record Restored(FrozenConnection frozen, byte[] attachment) {
    }

    private List<Incoming> session(MigrationWire wire, TcpRepair tcp, Map<Integer, Restored> restored)
            throws IOException {
        ByteBuffer hello = wire.expect(HELLO).payload();
        byte[] magic = new byte[MigrationWire.MAGIC.length];
        hello.get(magic);
        int version = hello.getShort() & 0xffff;
        if (!Arrays.equals(magic, MigrationWire.MAGIC)) {
            throw new MigrationException("not a kdirect migration source (wrong magic)");
        }
        if (version != MigrationWire.VERSION) {
            throw new MigrationException("the source speaks protocol version " + version + ", this target "
                    + MigrationWire.VERSION + ": run the same kdirect on both sides");
        }
        boolean sameNamespace = hello.get() == 0;
        int count = hello.getInt();
        wire.send(WELCOME, ByteBuffer.allocate(2).putShort((short) MigrationWire.VERSION));
        List<Received> images = new ArrayList<>();
        for (int k = 0; k < count; k++) {
            MigrationWire.Frame f = wire.expect(IMAGE);
            images.add(new Received(f.getInt(), f.bytes(), f.bytes()));
            progress.progress("received", k + 1, count);
        }
        Map<Integer, ConnectionState> valid = new LinkedHashMap<>();
        for (Received r : images) {
            try {
                valid.put(r.index, ConnectionImage.read(r.image));
                if (sameNamespace) {
                    verdict(wire, r.index, MigrationWire.VALID, "");
                }
            } catch (InvalidImageException e) {
                verdict(wire, r.index, MigrationWire.REFUSED, e.reason() + ": " + e.getMessage());
            }
        }
        List<Integer> toRestore = new ArrayList<>(valid.keySet());
        if (sameNamespace) {
            ByteBuffer released = wire.expect(RELEASED).payload();
            toRestore.clear();
            for (int k = released.getInt(); k > 0; k--) {
                int index = released.getInt();
                if (!valid.containsKey(index)) {
                    throw new MigrationException("protocol error: released connection " + index + " was not valid");
                }
                toRestore.add(index);
            }
        }
        Map<Integer, byte[]> attachments = new LinkedHashMap<>();
        images.forEach(r -> attachments.put(r.index, r.attachment));
        restoreAll(wire, tcp, sameNamespace, toRestore, valid, attachments, restored);
        wire.expect(COMMIT);
        // Past COMMIT the source has let go: nothing here may be released any more, whatever fails.
        List<Restored> committed = new ArrayList<>(restored.values());
        restored.clear();
        Incoming[] thawed = new Incoming[committed.size()];
        ParallelSteps.forEach(committed.size(), "thawed", MigrationProgress.NONE, k -> {
            Restored r = committed.get(k);
            try {
                if (sameNamespace) {
                    r.frozen.thawLocked(); // the source's lock holds here until DONE: a probe would be dropped
                } else {
                    r.frozen.thaw(); // the probe tells the peer, now routed here, where the connection went on
                }
                thawed[k] = new Incoming(r.frozen.channel(), r.attachment, r.frozen.state());
            } catch (IOException | RuntimeException e) {
                // stuck in repair mode (never seen: repair off on our own socket): the connection is lost; DONE's
                // count, which covers only the live ones, tells the source
                r.frozen.channel().close();
            }
        });
        List<Incoming> live = new ArrayList<>();
        for (Incoming incoming : thawed) {
            if (incoming != null) {
                live.add(incoming);
            }
        }
        wire.send(DONE, ByteBuffer.allocate(4).putInt(live.size()));
        return live;
    }

    private void restoreAll(MigrationWire wire, TcpRepair tcp, boolean sameNamespace, List<Integer> indices,
            Map<Integer, ConnectionState> states, Map<Integer, byte[]> attachments, Map<Integer, Restored> restored)
            throws IOException {
        if (indices.isEmpty()) {
            return;
        }
        List<NetworkLock.Tuple> tuples = indices.stream().map(i -> NetworkLock.Tuple.of(states.get(i))).toList();
        // Same namespace: the source's lock covers these 4-tuples already.
        try (NetworkLock lock = sameNamespace ? null : NetworkLock.lock(tuples)) {
            FrozenConnection[] frozen = new FrozenConnection[indices.size()];
            String[] failures = new String[indices.size()];
            ParallelSteps.forEach(indices.size(), "restored", progress, k -> {
                ConnectionState state = states.get(indices.get(k));
                try {
                    // same namespace: the source released the 4-tuple just now (see RetriedRestore); held frozen
                    // (restored up to the window, nothing sent yet) until COMMIT thaws it
                    frozen[k] = sameNamespace ? RetriedRestore.restoreFrozen(tcp, state) : tcp.restoreFrozen(state);
                } catch (IOException | RuntimeException e) {
                    failures[k] = e.toString();
                }
            });
            // every restored copy recorded before any verdict goes out: a failed send aborts, releasing them all
            for (int k = 0; k < indices.size(); k++) {
                if (frozen[k] != null) {
                    restored.put(indices.get(k), new Restored(frozen[k], attachments.get(indices.get(k))));
                }
            }
            for (int k = 0; k < indices.size(); k++) {
                verdict(wire, indices.get(k), frozen[k] != null ? MigrationWire.RESTORED : MigrationWire.FAILED,
                        frozen[k] != null ? "" : failures[k]);
            }
        }
    }

    static void verdict(MigrationWire wire, int index, int code, String reason) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(5 + MigrationWire.textBytes(reason)).putInt(index).put((byte) code);
        wire.send(VERDICT, MigrationWire.putText(b, reason));
    }

    /** Stops listening and removes the socket file. */
    @Override
    public void close() throws IOException {
        server.close();
        Files.deleteIfExists(socket);
    }
}
