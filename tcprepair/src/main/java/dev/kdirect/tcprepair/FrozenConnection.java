package dev.kdirect.tcprepair;

import java.io.IOException;
import java.nio.channels.SocketChannel;

/**
 * A connection held in TCP repair mode after its state was dumped ({@link TcpRepair#freeze(SocketChannel)} or
 * {@link TcpRepair#freeze(int)}): the kernel sends nothing for it, so the state stays true until the connection is
 * either thawed (it goes on in the same socket) or released (the socket is closed in repair mode: no FIN, no RST,
 * the peer notices nothing). Exactly one of the two ends it. A frozen socket still receives what the peer sends and
 * still retransmits on its timers: lock its 4-tuple while it is frozen.
 */
public final class FrozenConnection {
    /** How the frozen socket is closed: the channel's close, or close(2) of the descriptor. */
    @FunctionalInterface
    interface Closer {
        void close() throws IOException;
    }

    /** How the socket leaves repair mode: as it was before a freeze, or finishing a restore. */
    @FunctionalInterface
    interface Thawer {
        void thaw(boolean windowProbe) throws IOException;
    }

    private final SocketChannel channel;
    private final int descriptor;
    private final ConnectionState state;
    private final Thawer thawer;
    private final Closer closer;
    private boolean ended;

    FrozenConnection(SocketChannel channel, int descriptor, ConnectionState state, Thawer thawer, Closer closer) {
        this.channel = channel;
        this.descriptor = descriptor;
        this.state = state;
        this.thawer = thawer;
        this.closer = closer;
    }

    /** The state dumped when the connection was frozen, or the state it was restored from. */
    public ConnectionState state() {
        return state;
    }

    /** The frozen channel; null when the connection was frozen by descriptor ({@link TcpRepair#freeze(int)}). */
    public SocketChannel channel() {
        return channel;
    }

    /**
     * The frozen socket's descriptor in this process: the channel's, or the one frozen or restored by descriptor.
     * Until {@link #release} it belongs to whoever owns the channel or descriptor; after it, it may name another file.
     */
    public int descriptor() {
        return descriptor;
    }

    /**
     * Leaves repair mode: the connection goes on in its socket as if nothing happened (the rollback of a migration
     * that failed elsewhere; SO_REUSEADDR is as it was before the freeze), or, for a connection restored frozen
     * ({@link TcpRepair#restoreFrozen}), the restore finishes: repair mode off, the unsent bytes sent, the saved
     * buffer sizes and socket options set.
     *
     * @throws IllegalStateException when the connection was already thawed or released
     */
    public void thaw() throws IOException {
        end();
        thawer.thaw(true);
    }

    /**
     * {@link #thaw} without the window probe that leaving repair mode sends (TCP_REPAIR_OFF_NO_WP): for a connection
     * whose 4-tuple is locked, where the probe would only be dropped (the peer's retransmission resumes it).
     */
    void thawLocked() throws IOException {
        end();
        thawer.thaw(false);
    }

    /**
     * Closes the socket (the channel, or the descriptor) while still in repair mode, which sends nothing: the
     * connection now lives only where its state is restored.
     *
     * @throws IllegalStateException when the connection was already thawed or released
     */
    public void release() throws IOException {
        end();
        closer.close();
    }

    private void end() {
        if (ended) {
            throw new IllegalStateException("the frozen connection " + state.local() + " -> " + state.remote()
                    + " was already thawed or released");
        }
        ended = true;
    }
}
