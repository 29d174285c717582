package dev.kdirect.tcprepair;

import java.io.IOException;
import java.nio.channels.SocketChannel;

/**
 * A connection held in TCP repair mode after its state was dumped ({@link TcpRepair#freeze}): the kernel sends
 * nothing for it and queues nothing new, so the state stays true until the connection is either thawed (it goes on
 * in the same channel) or released (the channel is closed in repair mode: no FIN, no RST, the peer notices
 * nothing). Exactly one of the two ends it; a frozen connection still retransmits on its timers (lock its 4-tuple
 * while it is frozen).
 */
public final class FrozenConnection {
    private final TcpRepair repair;
    private final SocketChannel channel;
    private final int fd;
    private final ConnectionState state;
    private boolean ended;

    FrozenConnection(TcpRepair repair, SocketChannel channel, int fd, ConnectionState state) {
        this.repair = repair;
        this.channel = channel;
        this.fd = fd;
        this.state = state;
    }

    /** The state dumped when the connection was frozen. */
    public ConnectionState state() {
        return state;
    }

    /** The frozen channel. */
    public SocketChannel channel() {
        return channel;
    }

    /**
     * Leaves repair mode: the connection goes on in its channel as if nothing happened (the rollback of a migration
     * that failed elsewhere).
     *
     * @throws IllegalStateException when the connection was already thawed or released
     */
    public void thaw() throws IOException {
        end();
        repair.leaveRepairMode(fd);
    }

    /**
     * Closes the channel while still in repair mode, which sends nothing: the connection now lives only where its
     * state is restored.
     *
     * @throws IllegalStateException when the connection was already thawed or released
     */
    public void release() throws IOException {
        end();
        channel.close();
    }

    private void end() {
        if (ended) {
            throw new IllegalStateException("the frozen connection " + state.local() + " -> " + state.remote()
                    + " was already thawed or released");
        }
        ended = true;
    }
}
