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

/**
 * A connection to a privileged repair helper ({@code kdirect repair-helper}, or passt-repair for the repair
 * toggles), which sets on sockets handed to it what needs CAP_NET_ADMIN: TCP_REPAIR on and off, and (a kdirect
 * extension) SO_SNDBUFFORCE and SO_RCVBUFFORCE. The protocol is {@link RepairProtocol}'s. {@link TcpRepair#through}
 * uses one so that checkpoint and restore run in a process without capabilities.
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

    private void request(byte command, Integer value, int[] sockets) throws IOException {
        if (sockets.length < 1 || sockets.length > SocketConstants.SCM_MAX_FD) {
            throw new IllegalArgumentException("a request carries 1 to " + SocketConstants.SCM_MAX_FD + " sockets, not "
                    + sockets.length);
        }
        if (fd < 0) {
            throw new RepairHelperException("the connection to the repair helper at " + path + " is closed");
        }
        String what = RepairProtocol.describe(command) + (value != null ? " " + value : "") + " on " + sockets.length
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
            MemorySegment reply = arena.allocate(1);
            if (kernel.recv(fd, reply, 0) == 0) {
                throw failure(what, "it closed the connection: it refused this client or the request, or a socket"
                        + " option failed (see its log)");
            }
            if (reply.get(JAVA_BYTE, 0) != command) {
                throw failure(what, "it replied " + reply.get(JAVA_BYTE, 0) + " instead of " + command);
            }
        } catch (KernelException e) {
            throw failure(what, e.is(Errno.EAGAIN) ? "no reply within " + REPLY_TIMEOUT.toSeconds() + " s"
                    : e.is(Errno.EPIPE) || e.is(Errno.ECONNRESET) ? "it closed the connection: it refused this client or the"
                    + " request, or a socket option failed (see its log)" : e.getMessage());
        }
    }

    private RepairHelperException failure(String what, String why) {
        close();
        return new RepairHelperException("the repair helper at " + path + " did not set " + what + ": " + why);
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
