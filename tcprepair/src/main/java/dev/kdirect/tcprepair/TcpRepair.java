package dev.kdirect.tcprepair;

import static dev.kdirect.SocketConstants.MSG_DONTWAIT;
import static dev.kdirect.SocketConstants.MSG_PEEK;
import static dev.kdirect.SocketConstants.SOL_SOCKET;
import static dev.kdirect.SocketConstants.SOL_TCP;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.Kernels;
import dev.kdirect.SocketConstants;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.util.Arrays;

/**
 * Checkpoints live TCP connections of JDK {@link SocketChannel}s with TCP_REPAIR (net/ipv4/tcp.c), in CRIU
 * libsoccr's dump order: repair mode on, TCP_INFO, the queue sizes, the MSS clamp, the timestamp, the repair
 * window, each queue's sequence number and bytes (peeked, not consumed), the socket options, repair mode off.
 * The connection keeps working: nothing is read from it and nothing is sent while it is in repair mode.
 *
 * <p>{@link #detach} checkpoints and closes in repair mode; {@link #restore} rebuilds the connection in a new
 * channel. Needs CAP_NET_ADMIN (only TCP_REPAIR on and off check it). The network lock and migration between
 * processes are the next steps of this module; the simulated kernel does not model TCP connections yet, so this
 * runs on the real bindings only.
 */
public final class TcpRepair {
    private static final int TCP_ESTABLISHED = 1;
    private static final int TCP_INFO_BYTES = 232;
    private static final int TCPI_OPT_TIMESTAMPS = 1;
    private static final int TCPI_OPT_SACK = 2;
    private static final int REPAIR_ON = 1;
    private static final int REPAIR_OFF = 0;
    private static final int NO_QUEUE = 0;
    private static final int TCPOPT_MAXSEG = 2;
    private static final int TCPOPT_WINDOW = 3;
    private static final int TCPOPT_SACK_PERM = 4;
    private static final int TCPOPT_TIMESTAMP = 8;

    private final Kernel kernel;

    private TcpRepair(Kernel kernel) {
        this.kernel = kernel;
    }

    /** TCP repair on the kernel for {@link Feature#TCP_REPAIR}. */
    public static TcpRepair system() {
        return new TcpRepair(Kernels.forFeature(Feature.TCP_REPAIR));
    }

    /** TCP repair on a given kernel. */
    public static TcpRepair on(Kernel kernel) {
        return new TcpRepair(kernel);
    }

    /**
     * The state of a connected channel, which stays connected and usable. The caller must keep the peer and the
     * application quiet meanwhile (or lock the 4-tuple): a segment arriving between the reads makes the state
     * inconsistent.
     *
     * @throws IOException when the channel is not connected
     * @throws KernelException EPERM without CAP_NET_ADMIN (run with sudo); the connection is left as it was
     * @throws IllegalStateException when the connection is not ESTABLISHED (e.g. half closed)
     */
    public ConnectionState checkpoint(SocketChannel channel) throws IOException {
        FrozenConnection frozen = freeze(channel);
        frozen.thaw();
        return frozen.state();
    }

    /**
     * Checkpoints the channel and closes it in repair mode, which sends nothing: no FIN, no RST. The peer sees a
     * quiet connection until {@link #restore} brings it back (here or in another process). Lock the 4-tuple
     * around it when the peer may send meanwhile. If the dump fails, the channel leaves repair mode and works on.
     */
    public ConnectionState detach(SocketChannel channel) throws IOException {
        FrozenConnection frozen = freeze(channel);
        frozen.release();
        return frozen.state();
    }

    /**
     * Puts the channel in repair mode and dumps its state, leaving it frozen: it neither sends nor reacts to
     * segments until {@link FrozenConnection#thaw} (the connection goes on in this channel: the rollback of a
     * failed migration) or {@link FrozenConnection#release} (closed silently: the connection lives on where the
     * state was restored). If the dump fails the channel leaves repair mode and the error is thrown.
     *
     * @throws IOException when the channel is not connected
     * @throws KernelException EPERM without CAP_NET_ADMIN (run with sudo); the connection is left as it was
     * @throws IllegalStateException when the connection is not ESTABLISHED, or changed during the dump
     */
    public FrozenConnection freeze(SocketChannel channel) throws IOException {
        int fd = SocketDescriptor.of(channel);
        InetSocketAddress local = (InetSocketAddress) channel.getLocalAddress();
        InetSocketAddress remote = (InetSocketAddress) channel.getRemoteAddress();
        try (Arena arena = Arena.ofConfined()) {
            setInt(arena, fd, SOL_TCP, SocketConstants.TCP_REPAIR, REPAIR_ON);
            try {
                return new FrozenConnection(this, channel, fd, dump(arena, fd, local, remote));
            } catch (IOException | RuntimeException e) {
                leaveRepairMode(fd);
                throw e;
            }
        }
    }

    /** Repair mode off (with no queue selected): the connection resumes where it stood. */
    void leaveRepairMode(int fd) throws KernelException {
        try (Arena arena = Arena.ofConfined()) {
            setInt(arena, fd, SOL_TCP, SocketConstants.TCP_REPAIR_QUEUE, NO_QUEUE);
            setInt(arena, fd, SOL_TCP, SocketConstants.TCP_REPAIR, REPAIR_OFF);
        }
    }

    /**
     * A new connected channel carrying the connection, rebuilt in the kernel's required order: SO_REUSEADDR, repair
     * mode, bind, both queues' sequence numbers, connect (no SYN: straight to ESTABLISHED), the handshake's
     * options, the timestamp, the receive queue and the sent-but-unacknowledged bytes refilled in repair mode, the
     * window, repair mode off, then the unsent bytes sent normally, and the socket options.
     *
     * @throws KernelException EADDRINUSE while the original socket still holds the 4-tuple, EPERM without
     *     CAP_NET_ADMIN; the half-built channel is closed
     */
    public SocketChannel restore(ConnectionState state) throws IOException {
        SocketDescriptor.Opened opened = SocketDescriptor.openChannel();
        SocketChannel channel = opened.channel();
        int fd = opened.fd();
        try (Arena arena = Arena.ofConfined()) {
            setInt(arena, fd, SOL_SOCKET, SocketConstants.SO_REUSEADDR, 1);
            setInt(arena, fd, SOL_TCP, SocketConstants.TCP_REPAIR, REPAIR_ON);
            channel.bind(state.local());
            byte[] received = state.receiveQueue();
            byte[] sent = state.sentUnacknowledged();
            byte[] unsent = state.unsent();
            setQueueSequence(arena, fd, SocketConstants.TCP_RECV_QUEUE, state.receiveSequence() - received.length);
            setQueueSequence(arena, fd, SocketConstants.TCP_SEND_QUEUE,
                    state.sendSequence() - sent.length - unsent.length);
            setInt(arena, fd, SOL_TCP, SocketConstants.TCP_REPAIR_QUEUE, NO_QUEUE);
            channel.connect(state.remote());
            kernel.setsockopt(fd, SOL_TCP, SocketConstants.TCP_REPAIR_OPTIONS, repairOptions(arena, state.options()));
            if (state.options().timestamps()) {
                setInt(arena, fd, SOL_TCP, SocketConstants.TCP_TIMESTAMP, state.options().timestamp());
            }
            refill(arena, fd, SocketConstants.TCP_RECV_QUEUE, received);
            refill(arena, fd, SocketConstants.TCP_SEND_QUEUE, sent);
            setInt(arena, fd, SOL_TCP, SocketConstants.TCP_REPAIR_QUEUE, NO_QUEUE);
            ConnectionState.RepairWindow w = state.window();
            MemorySegment window = arena.allocate(20);
            window.set(JAVA_INT, 0, w.sendWl1());
            window.set(JAVA_INT, 4, w.sendWindow());
            window.set(JAVA_INT, 8, w.maxWindow());
            window.set(JAVA_INT, 12, w.receiveWindow());
            window.set(JAVA_INT, 16, w.receiveWup());
            kernel.setsockopt(fd, SOL_TCP, SocketConstants.TCP_REPAIR_WINDOW, window);
            setInt(arena, fd, SOL_TCP, SocketConstants.TCP_REPAIR, REPAIR_OFF);
            for (java.nio.ByteBuffer tail = java.nio.ByteBuffer.wrap(unsent); tail.hasRemaining(); ) {
                channel.write(tail);
            }
            ConnectionState.SocketOptions o = state.socketOptions();
            setInt(arena, fd, SOL_SOCKET, SocketConstants.SO_REUSEADDR, o.reuseAddress() ? 1 : 0);
            setInt(arena, fd, SOL_TCP, SocketConstants.TCP_NODELAY, o.noDelay() ? 1 : 0);
            setInt(arena, fd, SOL_SOCKET, SocketConstants.SO_KEEPALIVE, o.keepAlive() ? 1 : 0);
            return channel;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    private void setQueueSequence(Arena arena, int fd, int queue, int sequence) throws KernelException {
        setInt(arena, fd, SOL_TCP, SocketConstants.TCP_REPAIR_QUEUE, queue);
        setInt(arena, fd, SOL_TCP, SocketConstants.TCP_QUEUE_SEQ, sequence);
    }

    /** send(2) in repair mode appends to the selected queue without transmitting; chunks halve on failure. */
    private void refill(Arena arena, int fd, int queue, byte[] bytes) throws KernelException {
        if (bytes.length == 0) {
            return;
        }
        setInt(arena, fd, SOL_TCP, SocketConstants.TCP_REPAIR_QUEUE, queue);
        MemorySegment data = arena.allocate(bytes.length);
        MemorySegment.copy(bytes, 0, data, JAVA_BYTE, 0, bytes.length);
        long done = 0;
        long chunk = bytes.length;
        while (done < bytes.length) {
            try {
                done += kernel.send(fd, data.asSlice(done, Math.min(chunk, bytes.length - done)), 0);
            } catch (KernelException e) {
                if (chunk == 1) {
                    throw e;
                }
                chunk = Math.max(1, chunk / 2);
            }
        }
    }

    /** struct tcp_repair_opt[]: MSS, window scales (send | receive << 16), SACK permitted, timestamps. */
    private static MemorySegment repairOptions(Arena arena, ConnectionState.TcpOptions o) {
        int count = 2 + (o.sackPermitted() ? 1 : 0) + (o.timestamps() ? 1 : 0);
        MemorySegment options = arena.allocate(8L * count);
        int i = 0;
        i = option(options, i, TCPOPT_MAXSEG, o.mssClamp());
        i = option(options, i, TCPOPT_WINDOW, o.sendWindowScale() | o.receiveWindowScale() << 16);
        if (o.sackPermitted()) {
            i = option(options, i, TCPOPT_SACK_PERM, 0);
        }
        if (o.timestamps()) {
            option(options, i, TCPOPT_TIMESTAMP, 0);
        }
        return options;
    }

    private static int option(MemorySegment options, int index, int code, int value) {
        options.set(JAVA_INT, 8L * index, code);
        options.set(JAVA_INT, 8L * index + 4, value);
        return index + 1;
    }

    private ConnectionState dump(Arena arena, int fd, InetSocketAddress local, InetSocketAddress remote)
            throws KernelException {
        MemorySegment info = arena.allocate(TCP_INFO_BYTES);
        kernel.getsockopt(fd, SOL_TCP, SocketConstants.TCP_INFO, info);
        int state = info.get(JAVA_BYTE, 0);
        if (state != TCP_ESTABLISHED) {
            throw new IllegalStateException("only an ESTABLISHED connection can be checkpointed; " + local + " -> "
                    + remote + " is in TCP state " + state);
        }
        int tcpiOptions = info.get(JAVA_BYTE, 5);
        int scales = info.get(JAVA_BYTE, 6) & 0xff;
        int outq = kernel.ioctlInt(fd, SocketConstants.SIOCOUTQ);
        int unsentBytes = kernel.ioctlInt(fd, SocketConstants.SIOCOUTQNSD);
        int inq = kernel.ioctlInt(fd, SocketConstants.SIOCINQ);
        int mss = getInt(arena, fd, SOL_TCP, SocketConstants.TCP_MAXSEG);
        int timestamp = getInt(arena, fd, SOL_TCP, SocketConstants.TCP_TIMESTAMP);
        MemorySegment w = arena.allocate(20);
        kernel.getsockopt(fd, SOL_TCP, SocketConstants.TCP_REPAIR_WINDOW, w);
        var window = new ConnectionState.RepairWindow(w.get(JAVA_INT, 0), w.get(JAVA_INT, 4), w.get(JAVA_INT, 8),
                w.get(JAVA_INT, 12), w.get(JAVA_INT, 16));
        Queue received = queue(arena, fd, SocketConstants.TCP_RECV_QUEUE, inq);
        Queue sending = queue(arena, fd, SocketConstants.TCP_SEND_QUEUE, outq);
        int sentBytes = outq - unsentBytes;
        var options = new ConnectionState.TcpOptions(mss, scales & 0xf, scales >> 4,
                (tcpiOptions & TCPI_OPT_SACK) != 0, (tcpiOptions & TCPI_OPT_TIMESTAMPS) != 0, timestamp);
        var socketOptions = new ConnectionState.SocketOptions(
                getInt(arena, fd, SOL_SOCKET, SocketConstants.SO_SNDBUF),
                getInt(arena, fd, SOL_SOCKET, SocketConstants.SO_RCVBUF),
                getInt(arena, fd, SOL_SOCKET, SocketConstants.SO_REUSEADDR) != 0,
                getInt(arena, fd, SOL_TCP, SocketConstants.TCP_NODELAY) != 0,
                getInt(arena, fd, SOL_SOCKET, SocketConstants.SO_KEEPALIVE) != 0);
        return new ConnectionState(local, remote, sending.sequence, received.sequence, received.bytes,
                Arrays.copyOfRange(sending.bytes, 0, sentBytes),
                Arrays.copyOfRange(sending.bytes, sentBytes, sending.bytes.length), options, window, socketOptions);
    }

    private record Queue(int sequence, byte[] bytes) {
    }

    /** TCP_REPAIR_QUEUE, then its TCP_QUEUE_SEQ, then a peek of exactly its bytes (one more asked, none given). */
    private Queue queue(Arena arena, int fd, int which, int length) throws KernelException {
        setInt(arena, fd, SOL_TCP, SocketConstants.TCP_REPAIR_QUEUE, which);
        int sequence = getInt(arena, fd, SOL_TCP, SocketConstants.TCP_QUEUE_SEQ);
        if (length == 0) {
            return new Queue(sequence, new byte[0]);
        }
        MemorySegment buffer = arena.allocate(length + 1L);
        long peeked = kernel.recv(fd, buffer, MSG_PEEK | MSG_DONTWAIT);
        if (peeked != length) {
            throw new IllegalStateException("the " + (which == SocketConstants.TCP_RECV_QUEUE ? "receive" : "send")
                    + " queue held " + peeked + " bytes where the kernel reported " + length + ": the connection"
                    + " changed during the checkpoint; lock it and try again");
        }
        return new Queue(sequence, buffer.asSlice(0, length).toArray(JAVA_BYTE));
    }

    private int getInt(Arena arena, int fd, int level, int option) throws KernelException {
        MemorySegment value = arena.allocate(JAVA_INT);
        kernel.getsockopt(fd, level, option, value);
        return value.get(JAVA_INT, 0);
    }

    private void setInt(Arena arena, int fd, int level, int option, int value) throws KernelException {
        kernel.setsockopt(fd, level, option, arena.allocateFrom(JAVA_INT, value));
    }
}
