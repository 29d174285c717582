package dev.kdirect.backend.simulated;

import dev.kdirect.Errno;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * One end of an AF_UNIX stream connection (struct unix_sock, net/unix/af_unix.c): its receive queue of messages
 * (one sk_buff per sendmsg, with the descriptors in flight that came with it), the shutdown the peer's close leaves
 * (SHUTDOWN_MASK) and the error it may leave (ECONNRESET when it closed with data unread). Both ends of a
 * connection share one monitor, on which a blocking recvmsg waits. Only pairs (socketpair) are modelled; the
 * send buffer limit is not (a send never blocks).
 */
final class UnixEndpoint {
    /** A queued message: its bytes, how many were read, and its descriptors until a read takes them. */
    static final class Segment {
        final byte[] data;
        int consumed;
        List<FileDescription> files;

        Segment(byte[] data, List<FileDescription> files) {
            this.data = data;
            this.files = files;
        }

        int remaining() {
            return data.length - consumed;
        }
    }

    private final FdTable fds;
    /** The connection's monitor (unix_state_lock of both ends, and the wait queue). */
    final Object lock;
    final ArrayDeque<Segment> queue = new ArrayDeque<>();
    UnixEndpoint peer;
    /** sk_state == TCP_ESTABLISHED: connected once (it stays so after the peer closed). */
    boolean connected;
    /** sk_shutdown == SHUTDOWN_MASK, set by the peer's close. */
    boolean shutdown;
    /** sk_err: read and cleared by the next read that finds the queue empty. */
    int error;

    private UnixEndpoint(FdTable fds, Object lock) {
        this.fds = fds;
        this.lock = lock;
    }

    /** A new, unconnected socket's end. */
    static UnixEndpoint unconnected(FdTable fds) {
        return new UnixEndpoint(fds, new Object());
    }

    /** unix_socketpair: two ends connected to each other. */
    static UnixEndpoint[] pair(FdTable fds) {
        Object lock = new Object();
        UnixEndpoint a = new UnixEndpoint(fds, lock);
        UnixEndpoint b = new UnixEndpoint(fds, lock);
        a.peer = b;
        b.peer = a;
        a.connected = true;
        b.connected = true;
        return new UnixEndpoint[] {a, b};
    }

    /**
     * unix_release_sock: the peer is shut down both ways, and gets ECONNRESET if this end had data unread; the
     * descriptors in flight to this end are dropped.
     */
    void close() {
        List<FileDescription> purged = new ArrayList<>();
        synchronized (lock) {
            if (peer != null) {
                peer.shutdown = true;
                if (!queue.isEmpty()) {
                    peer.error = Errno.ECONNRESET.value();
                }
                peer.peer = null; // the peer's sends now fail with EPIPE (its SEND_SHUTDOWN)
                peer = null;
            }
            for (Segment s : queue) {
                if (s.files != null) {
                    purged.addAll(s.files);
                }
            }
            queue.clear();
            lock.notifyAll();
        }
        purged.forEach(fds::drop);
    }
}
