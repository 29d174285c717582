package dev.kdirect.tcprepair;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * Everything TCP_REPAIR needs to rebuild an ESTABLISHED connection elsewhere (net/ipv4/tcp.c, the CRIU libsoccr
 * dump): the addresses, both sequence numbers, the receive queue, the send queue split into the part the peer has
 * not acknowledged and the part never sent, the options negotiated at the handshake, the timestamp clock, the
 * repair window, and the socket options that shape the restored socket.
 *
 * <p>Immutable. The queued bytes are held as read-only {@link MemorySegment} views ({@link #receiveQueueView()} and
 * the others), not copied: with {@link TcpRepair#queuesIn} a checkpoint peeks them from the kernel straight into the
 * caller's native memory once, and the image, the migration wire and the restore read them from there; the views
 * are valid as long as that memory is. Without it they are on the heap. Nothing can write through the views. The
 * byte-array constructor and accessors copy, for callers that want arrays.
 *
 * <p>{@code equals} compares every field, the queues byte by byte; {@code hashCode} hashes the queues' lengths only
 * (equal states have equal lengths), so hashing a state with megabytes queued costs nothing.
 */
public final class ConnectionState {
    private final InetSocketAddress local;
    private final InetSocketAddress remote;
    private final int sendSequence;
    private final int receiveSequence;
    private final MemorySegment receiveQueue;
    private final MemorySegment sentUnacknowledged;
    private final MemorySegment unsent;
    private final TcpOptions options;
    private final RepairWindow window;
    private final SocketOptions socketOptions;

    /** The options of TCP_REPAIR_OPTIONS, plus the TCP_TIMESTAMP clock. */
    public record TcpOptions(int mssClamp, int sendWindowScale, int receiveWindowScale, boolean sackPermitted,
            boolean timestamps, int timestamp) {
        public TcpOptions {
            if (mssClamp < 0 || mssClamp > 0xffff) {
                throw new IllegalArgumentException("MSS clamp " + mssClamp + " is not a 16-bit value");
            }
            checkScale("send", sendWindowScale);
            checkScale("receive", receiveWindowScale);
        }

        private static void checkScale(String which, int scale) {
            if (scale < 0 || scale > 14) { // TCP_MAX_WSCALE; the kernel refuses more with EFBIG
                throw new IllegalArgumentException(which + " window scale " + scale + " is outside 0..14");
            }
        }
    }

    /** struct tcp_repair_window: snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup (all unsigned 32-bit). */
    public record RepairWindow(int sendWl1, int sendWindow, int maxWindow, int receiveWindow, int receiveWup) {
    }

    /** SO_SNDBUF, SO_RCVBUF (bytes, as the kernel reports them), SO_REUSEADDR, TCP_NODELAY, SO_KEEPALIVE. */
    public record SocketOptions(int sendBuffer, int receiveBuffer, boolean reuseAddress, boolean noDelay,
            boolean keepAlive) {
        public SocketOptions {
            if (sendBuffer < 0 || receiveBuffer < 0) {
                throw new IllegalArgumentException("buffer sizes cannot be negative");
            }
        }
    }

    /**
     * A state with copies of the given queues.
     *
     * @param local the connection's local address and port
     * @param remote the peer's address and port (same family as {@code local})
     * @param sendSequence TCP_QUEUE_SEQ of the send queue: the sequence number after the last byte queued
     * @param receiveSequence TCP_QUEUE_SEQ of the receive queue: the next sequence number expected (rcv_nxt)
     * @param receiveQueue bytes received and not yet read by the application
     * @param sentUnacknowledged bytes sent that the peer has not acknowledged (restored in repair mode)
     * @param unsent bytes queued but never sent (sent normally after repair mode ends)
     * @param options the options negotiated at the handshake, and the timestamp
     * @param window the repair window (struct tcp_repair_window)
     * @param socketOptions buffer sizes and the flags worth carrying
     * @throws IllegalArgumentException when an address has no IP address or port, or the two are not of one family
     */
    public ConnectionState(InetSocketAddress local, InetSocketAddress remote, int sendSequence, int receiveSequence,
            byte[] receiveQueue, byte[] sentUnacknowledged, byte[] unsent, TcpOptions options, RepairWindow window,
            SocketOptions socketOptions) {
        this(local, remote, sendSequence, receiveSequence, copyOf(receiveQueue), copyOf(sentUnacknowledged),
                copyOf(unsent), options, window, socketOptions);
    }

    /** A state holding these queues as they are: the caller hands them over and never writes them again. */
    ConnectionState(InetSocketAddress local, InetSocketAddress remote, int sendSequence, int receiveSequence,
            MemorySegment receiveQueue, MemorySegment sentUnacknowledged, MemorySegment unsent, TcpOptions options,
            RepairWindow window, SocketOptions socketOptions) {
        this.options = Objects.requireNonNull(options, "options");
        this.window = Objects.requireNonNull(window, "window");
        this.socketOptions = Objects.requireNonNull(socketOptions, "socketOptions");
        checkAddress("local", local);
        checkAddress("remote", remote);
        if (local.getAddress().getAddress().length != remote.getAddress().getAddress().length) {
            throw new IllegalArgumentException("local " + local + " and remote " + remote + " are not of one family");
        }
        this.local = local;
        this.remote = remote;
        this.sendSequence = sendSequence;
        this.receiveSequence = receiveSequence;
        this.receiveQueue = receiveQueue.asReadOnly();
        this.sentUnacknowledged = sentUnacknowledged.asReadOnly();
        this.unsent = unsent.asReadOnly();
    }

    private static MemorySegment copyOf(byte[] bytes) {
        return MemorySegment.ofArray(bytes.clone());
    }

    private static void checkAddress(String which, InetSocketAddress address) {
        Objects.requireNonNull(address, which);
        if (address.isUnresolved() || address.getPort() == 0) {
            throw new IllegalArgumentException("the " + which + " address " + address + " needs an IP address and a"
                    + " port other than 0");
        }
    }

    /** The connection's local address and port. */
    public InetSocketAddress local() {
        return local;
    }

    /** The peer's address and port. */
    public InetSocketAddress remote() {
        return remote;
    }

    /** TCP_QUEUE_SEQ of the send queue: the sequence number after the last byte queued. */
    public int sendSequence() {
        return sendSequence;
    }

    /** TCP_QUEUE_SEQ of the receive queue: the next sequence number expected (rcv_nxt). */
    public int receiveSequence() {
        return receiveSequence;
    }

    /** The options negotiated at the handshake, and the timestamp. */
    public TcpOptions options() {
        return options;
    }

    /** The repair window (struct tcp_repair_window). */
    public RepairWindow window() {
        return window;
    }

    /** Buffer sizes and the flags worth carrying. */
    public SocketOptions socketOptions() {
        return socketOptions;
    }

    /** 4 for IPv4, 6 for IPv6. */
    public int ipVersion() {
        return local.getAddress().getAddress().length == 4 ? 4 : 6;
    }

    /** The receive queue's length. */
    int receiveQueueLength() {
        return (int) receiveQueue.byteSize();
    }

    /** Sent-but-unacknowledged plus unsent bytes. */
    int sendQueueLength() {
        return (int) (sentUnacknowledged.byteSize() + unsent.byteSize());
    }

    /** The bytes received and not yet read by the application: a read-only view, no copy. */
    public MemorySegment receiveQueueView() {
        return receiveQueue;
    }

    /** The bytes sent that the peer has not acknowledged: a read-only view, no copy. */
    public MemorySegment sentUnacknowledgedView() {
        return sentUnacknowledged;
    }

    /** The bytes queued but never sent: a read-only view, no copy. */
    public MemorySegment unsentView() {
        return unsent;
    }

    /** A copy of the receive queue ({@link #receiveQueueView} without the copy). */
    public byte[] receiveQueue() {
        return receiveQueue.toArray(JAVA_BYTE);
    }

    /** A copy of the sent-but-unacknowledged bytes ({@link #sentUnacknowledgedView} without the copy). */
    public byte[] sentUnacknowledged() {
        return sentUnacknowledged.toArray(JAVA_BYTE);
    }

    /** A copy of the unsent bytes ({@link #unsentView} without the copy). */
    public byte[] unsent() {
        return unsent.toArray(JAVA_BYTE);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ConnectionState s && local.equals(s.local) && remote.equals(s.remote)
                && sendSequence == s.sendSequence && receiveSequence == s.receiveSequence
                && sameBytes(receiveQueue, s.receiveQueue) && sameBytes(sentUnacknowledged, s.sentUnacknowledged)
                && sameBytes(unsent, s.unsent) && options.equals(s.options) && window.equals(s.window)
                && socketOptions.equals(s.socketOptions);
    }

    private static boolean sameBytes(MemorySegment a, MemorySegment b) {
        return a.mismatch(b) == -1;
    }

    @Override
    public int hashCode() {
        return Objects.hash(local, remote, sendSequence, receiveSequence, receiveQueue.byteSize(),
                sentUnacknowledged.byteSize(), unsent.byteSize(), options, window, socketOptions);
    }

    @Override
    public String toString() {
        return "ConnectionState[" + local + " -> " + remote + ", snd_seq " + Integer.toUnsignedString(sendSequence)
                + ", rcv_seq " + Integer.toUnsignedString(receiveSequence) + ", queued " + receiveQueue.byteSize()
                + " in, " + sentUnacknowledged.byteSize() + " unacked + " + unsent.byteSize() + " unsent out, "
                + options + "]";
    }

    static InetAddress addressOf(byte[] raw) {
        try {
            return InetAddress.getByAddress(raw);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException("an IP address has 4 or 16 bytes, not " + raw.length, e);
        }
    }
}
