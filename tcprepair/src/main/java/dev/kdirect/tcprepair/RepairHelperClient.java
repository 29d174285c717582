package dev.kdirect.tcprepair;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.kdirect.Errno;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.Kernels;
import dev.kdirect.SocketConstants;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

/**
 * A connection to a privileged repair helper ({@code kdirect repair-helper}, or passt-repair for the repair
 * toggles), which sets on sockets handed to it what needs CAP_NET_ADMIN: TCP_REPAIR on and off, and (a kdirect
 * extension) SO_SNDBUFFORCE and SO_RCVBUFFORCE and the network lock on their connections. The protocol is
 * {@link RepairProtocol}'s. {@link TcpRepair#through} uses one so that checkpoint, restore and a migration's lock run
 * in a process without capabilities.
 *
 * <p>Sockets handed over are the caller's connections: before sending any, the client checks who listens at the
 * path (SO_PEERCRED) and refuses a helper that does not run as the expected uid (root by default). Requests are
 * serialised: one at a time per connection. Any failure closes the connection; later requests fail.
 */
public final class RepairHelperClient implements AutoCloseable {
    /** How long a request waits for the helper's reply. */
    public static final Duration REPLY_TIMEOUT = Duration.ofSeconds(10);

    private final Kernel kernel;
    private final Path path;
    private int fd;

    private RepairHelperClient(Kernel kernel, Path path, int fd) {
        this.kernel = kernel;
        this.path = path;
        this.fd = fd;
    }

    /** Connects to the helper listening at {@code socket}, which must run as root. */
    public static RepairHelperClient connect(Path socket) throws IOException {
        return connect(socket, 0);
    }

    /**
     * Connects to the helper listening at {@code socket}, which must run as {@code helperUid}.
     *
     * @throws RepairHelperException when nobody listens there, connecting is not permitted, or the listener runs as
     *     another uid; nothing was sent
     */
    public static RepairHelperClient connect(Path socket, int helperUid) throws IOException {
        Kernel kernel = Kernels.real();
        int fd = kernel.socket(SocketConstants.AF_UNIX, SocketConstants.SOCK_STREAM | SocketConstants.SOCK_CLOEXEC,
                0);
        try {
            kernel.connect(fd, UnixDomainSocketAddress.of(socket));
            PeerCredentials helper = PeerCredentials.of(kernel, fd);
            if (helper.uid() != helperUid) {
                throw new RepairHelperException("the repair helper at " + socket + " runs as uid " + helper.uid()
                        + " (" + helper + "), not uid " + helperUid + ": no socket is handed to it");
            }
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment timeval = arena.allocate(16, 8);
                timeval.set(JAVA_LONG, 0, REPLY_TIMEOUT.toSeconds());
                timeval.set(JAVA_LONG, 8, 0);
                kernel.setsockopt(fd, SocketConstants.SOL_SOCKET, SocketConstants.SO_RCVTIMEO, timeval);
            }
            return new RepairHelperClient(kernel, socket, fd);
        } catch (KernelException e) {
            kernel.close(fd);
            throw new RepairHelperException("cannot reach the repair helper at " + socket + ": " + e.errnoName()
                    + (e.is(Errno.ENOENT) || e.is(Errno.ECONNREFUSED) ? " (is kdirect repair-helper running?)"
                    : e.is(Errno.EACCES) ? " (the socket's mode does not let this user connect)" : "") , e);
        } catch (IOException | RuntimeException e) {
            kernel.close(fd);
            throw e;
        }
    }

    /** TCP_REPAIR to {@code value} (TCP_REPAIR_ON, TCP_REPAIR_OFF or TCP_REPAIR_OFF_NO_WP) on 1 to 253 sockets. */
    public synchronized void setRepair(int value, int... sockets) throws IOException {
        if (!RepairProtocol.isRepairToggle(value)) {
            throw new IllegalArgumentException("TCP_REPAIR takes 1, 0 or -1, not " + value);
        }
        request((byte) value, null, sockets);
    }

    /** SO_SNDBUFFORCE to {@code value} on 1 to 253 sockets (the kdirect extension). */
    public synchronized void forceSendBuffer(int value, int... sockets) throws IOException {
        request(RepairProtocol.SET_SEND_BUFFER, value, sockets);
    }

    /** SO_RCVBUFFORCE to {@code value} on 1 to 253 sockets (the kdirect extension). */
    public synchronized void forceReceiveBuffer(int value, int... sockets) throws IOException {
        request(RepairProtocol.SET_RECEIVE_BUFFER, value, sockets);
    }

    /**
     * A network lock the helper holds for this client on the connections of the sockets it was handed; closing it
     * asks the helper to remove it, and the helper removes it anyway when this client's connection closes.
     */
    public static final class Lock implements ConnectionLock {
        private final RepairHelperClient client;
        private final int id;
        private final int size;
        private boolean released;

        private Lock(RepairHelperClient client, int id, int size) {
            this.client = client;
            this.id = id;
            this.size = size;
        }

        /** The helper's id of the lock, for this client's connection. */
        public int id() {
            return id;
        }

        /** How many connections it holds. */
        public int size() {
            return size;
        }

        @Override
        public void close() throws IOException {
            synchronized (client) {
                if (released) {
                    return;
                }
                released = true;
                if (client.fd >= 0) { // else the helper removed it when the connection closed
                    client.request(RepairProtocol.UNLOCK, id, new int[0]);
                }
            }
        }

        @Override
        public String removal() {
            return "the repair helper at " + client.path + " removes it when this process's connection to it closes";
        }
    }

    /**
     * Locks the connections of these sockets (the kdirect extension): when this returns, no packet of theirs passes
     * in either direction until the lock is closed, this client closes, or this process ends. More than 253 sockets
     * go in several requests, the first making the lock and the others extending it.
     *
     * @throws RepairHelperException when the helper refused (a socket that is not a connected TCP socket, too many
     *     locks) or nft failed; the connection is closed, so the helper removed whatever part it had locked
     */
    public synchronized Lock lock(int... sockets) throws IOException {
        if (sockets.length == 0) {
            throw new IllegalArgumentException("a lock needs at least one socket");
        }
        int id = 0;
        for (int from = 0; from < sockets.length; from += SocketConstants.SCM_MAX_FD) {
            id = request(RepairProtocol.LOCK, id, Arrays.copyOfRange(sockets, from,
                    Math.min(sockets.length, from + SocketConstants.SCM_MAX_FD)));
        }
        return new Lock(this, id, sockets.length);
    }

    /** One of the options that need CAP_NET_ADMIN, for {@link TcpRepair}. */
    void set(int socket, int level, int option, int value) throws IOException {
        if (level == SocketConstants.SOL_TCP && option == SocketConstants.TCP_REPAIR) {
            setRepair(value, socket);
        } else if (level == SocketConstants.SOL_SOCKET && RepairProtocol.bufferCommand(option) != 0) {
            synchronized (this) {
                request(RepairProtocol.bufferCommand(option), value, new int[] {socket});
            }
        } else {
            throw new IllegalArgumentException("the repair helper sets TCP_REPAIR, SO_SNDBUFFORCE and SO_RCVBUFFORCE,"
                    + " not option " + level + "/" + option);
        }
    }

    /** One request; the lock's id for LOCK, else 0. */
    private int request(byte command, Integer value, int[] sockets) throws IOException {
        if (RepairProtocol.carriesSockets(command)
                && (sockets.length < 1 || sockets.length > SocketConstants.SCM_MAX_FD)) {
            throw new IllegalArgumentException("a request carries 1 to " + SocketConstants.SCM_MAX_FD + " sockets, not "
                    + sockets.length);
        }
        if (fd < 0) {
            throw new RepairHelperException("the connection to the repair helper at " + path + " is closed");
        }
        String what = command == RepairProtocol.UNLOCK ? "unlock of lock " + value
                : command == RepairProtocol.LOCK ? "lock of " + sockets.length + " connection"
                        + (sockets.length == 1 ? "" : "s") + (value != 0 ? " (added to lock " + value + ")" : "")
                : RepairProtocol.describe(command) + (value != null ? " " + value : "") + " on " + sockets.length
                        + " socket" + (sockets.length == 1 ? "" : "s");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment message = arena.allocate(1 + (value != null ? RepairProtocol.VALUE_BYTES : 0));
            message.set(JAVA_BYTE, 0, command);
            if (value != null) {
                message.set(JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.nativeOrder()), 1, value);
            }
            if (kernel.sendmsg(fd, message, sockets, SocketConstants.MSG_NOSIGNAL) != message.byteSize()) {
                throw failure(what, "it took part of the request");
            }
            MemorySegment reply = arena.allocate(command == RepairProtocol.LOCK ? 1 + RepairProtocol.VALUE_BYTES : 1);
            for (long got = 0; got < reply.byteSize(); ) {
                long n = kernel.recv(fd, reply.asSlice(got), 0);
                if (n == 0) {
                    throw failure(what, "it closed the connection: it refused this client or the request, or a"
                            + " socket option or nft failed (see its log)");
                }
                got += n;
            }
            if (reply.get(JAVA_BYTE, 0) != command) {
                throw failure(what, "it replied " + reply.get(JAVA_BYTE, 0) + " instead of " + command);
            }
            return reply.byteSize() > 1 ? reply.get(JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.nativeOrder()), 1)
                    : 0;
        } catch (KernelException e) {
            throw failure(what, e.is(Errno.EAGAIN) ? "no reply within " + REPLY_TIMEOUT.toSeconds() + " s"
                    : e.is(Errno.EPIPE) || e.is(Errno.ECONNRESET) ? "it closed the connection: it refused this client or the"
                    + " request, or a socket option failed (see its log)" : e.getMessage());
        }
    }

    private RepairHelperException failure(String what, String why) {
        close();
        return new RepairHelperException("the repair helper at " + path + " did not carry out the " + what + ": " + why);
    }

    /** Closes the connection (the helper keeps running). Idempotent. */
    @Override
    public synchronized void close() {
        if (fd >= 0) {
            try {
                kernel.close(fd);
            } catch (KernelException ignored) {
                // nothing left to release
            }
            fd = -1;
        }
    }
}
