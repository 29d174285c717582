package dev.kdirect.tcprepair;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.Objects;

/**
 * Everything TCP_REPAIR needs to rebuild an ESTABLISHED connection elsewhere (net/ipv4/tcp.c, the CRIU libsoccr
 * dump): the addresses, both sequence numbers, the receive queue, the send queue split into the part the peer has
 * not acknowledged and the part never sent, the options negotiated at the handshake, the timestamp clock, the
 * repair window, and the socket options that shape the restored socket. Immutable: the queues are copied in
 * and out.
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
 */
public record ConnectionState(InetSocketAddress local, InetSocketAddress remote, int sendSequence,
        int receiveSequence, byte[] receiveQueue, byte[] sentUnacknowledged, byte[] unsent, TcpOptions options,
        RepairWindow window, SocketOptions socketOptions) {

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

    public ConnectionState {
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(window, "window");
        Objects.requireNonNull(socketOptions, "socketOptions");
        checkAddress("local", local);
        checkAddress("remote", remote);
        if (local.getAddress().getAddress().length != remote.getAddress().getAddress().length) {
            throw new IllegalArgumentException("local " + local + " and remote " + remote + " are not of one family");
        }
        receiveQueue = receiveQueue.clone();
        sentUnacknowledged = sentUnacknowledged.clone();
        unsent = unsent.clone();
    }

    private static void checkAddress(String which, InetSocketAddress address) {
        Objects.requireNonNull(address, which);
        if (address.isUnresolved() || address.getPort() == 0) {
            throw new IllegalArgumentException("the " + which + " address " + address + " needs an IP address and a"
                    + " port other than 0");
        }
    }

    /** 4 for IPv4, 6 for IPv6. */
    public int ipVersion() {
        return local.getAddress().getAddress().length == 4 ? 4 : 6;
    }

    /** The receive queue's length, without the copy {@link #receiveQueue} makes. */
    int receiveQueueLength() {
        return receiveQueue.length;
    }

    /** Sent-but-unacknowledged plus unsent bytes, without copies. */
    int sendQueueLength() {
        return sentUnacknowledged.length + unsent.length;
    }

    @Override
    public byte[] receiveQueue() {
        return receiveQueue.clone();
    }

    @Override
    public byte[] sentUnacknowledged() {
        return sentUnacknowledged.clone();
    }

    @Override
    public byte[] unsent() {
        return unsent.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ConnectionState s && local.equals(s.local) && remote.equals(s.remote)
                && sendSequence == s.sendSequence && receiveSequence == s.receiveSequence
                && Arrays.equals(receiveQueue, s.receiveQueue) && Arrays.equals(sentUnacknowledged, s.sentUnacknowledged)
                && Arrays.equals(unsent, s.unsent) && options.equals(s.options) && window.equals(s.window)
                && socketOptions.equals(s.socketOptions);
    }

    @Override
    public int hashCode() {
        return Objects.hash(local, remote, sendSequence, receiveSequence, Arrays.hashCode(receiveQueue),
                Arrays.hashCode(sentUnacknowledged), Arrays.hashCode(unsent), options, window, socketOptions);
    }

    @Override
    public String toString() {
        return "ConnectionState[" + local + " -> " + remote + ", snd_seq " + Integer.toUnsignedString(sendSequence)
                + ", rcv_seq " + Integer.toUnsignedString(receiveSequence) + ", queued " + receiveQueue.length + " in, "
                + sentUnacknowledged.length + " unacked + " + unsent.length + " unsent out, " + options + "]";
    }

    static InetAddress addressOf(byte[] raw) {
        try {
            return InetAddress.getByAddress(raw);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException("an IP address has 4 or 16 bytes, not " + raw.length, e);
        }
    }
}
