package dev.kdirect.backend.simulated;

import java.util.ArrayDeque;

/**
 * The accept queue of a listening socket (inet_csk_reqsk_queue): connections whose handshake completed, in the
 * order they completed, waiting for accept(2). The model completes handshakes at once and does not drop SYNs
 * when the queue is over its backlog.
 */
final class TcpListener {
    private final ArrayDeque<TcpEndpoint> established = new ArrayDeque<>();

    void add(TcpEndpoint child) {
        established.add(child);
    }

    /** The oldest completed connection, or null. */
    TcpEndpoint poll() {
        return established.poll();
    }

    /** The connections never accepted, for close(2) of the listener to reset. */
    Iterable<TcpEndpoint> pending() {
        return established;
    }
}
