package dev.kdirect.tcprepair;

import java.io.IOException;
import java.nio.channels.SocketChannel;

/**
 * A restore retried for up to a second. Right after a socket of the same 4-tuple was let go in this namespace the
 * tuple may still be held a moment: by a target process whose descriptors are closing as it dies, or by a child
 * process forked just then, which holds a copy of the released socket's descriptor until it closes it or execs.
 */
final class RetriedRestore {
    private static final int ATTEMPTS = 20;
    private static final long PAUSE_MILLIS = 50;

    private RetriedRestore() {
    }

    /** A live channel: {@link #restoreFrozen}, then thawed. */
    static SocketChannel restore(TcpRepair tcp, ConnectionState state) throws IOException {
        FrozenConnection restored = restoreFrozen(tcp, state);
        try {
            restored.thaw();
            return restored.channel();
        } catch (IOException | RuntimeException e) {
            restored.channel().close();
            throw e;
        }
    }

    /** A live socket by descriptor: {@link TcpRepair#restoreFrozenDescriptor}, retried, then thawed. */
    static int restoreDescriptor(TcpRepair tcp, ConnectionState state) throws IOException {
        FrozenConnection restored = restoreFrozen(tcp, state, true);
        try {
            restored.thaw();
            return restored.descriptor();
        } catch (IOException | RuntimeException e) {
            tcp.kernel().close(restored.descriptor());
            throw e;
        }
    }

    /** {@link TcpRepair#restoreFrozen}, retried. */
    static FrozenConnection restoreFrozen(TcpRepair tcp, ConnectionState state) throws IOException {
        return restoreFrozen(tcp, state, false);
    }

    /** {@link TcpRepair#restoreFrozen} or {@link TcpRepair#restoreFrozenDescriptor}, retried. */
    static FrozenConnection restoreFrozen(TcpRepair tcp, ConnectionState state, boolean byDescriptor)
            throws IOException {
        for (int attempt = 1; ; attempt++) {
            try {
                return byDescriptor ? tcp.restoreFrozenDescriptor(state) : tcp.restoreFrozen(state);
            } catch (IOException | RuntimeException e) {
                if (attempt == ATTEMPTS) {
                    throw e;
                }
            }
            try {
                Thread.sleep(PAUSE_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new MigrationException("interrupted while restoring " + state.local() + " -> " + state.remote());
            }
        }
    }
}
