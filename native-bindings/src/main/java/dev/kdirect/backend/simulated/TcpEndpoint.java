package dev.kdirect.backend.simulated;

import static dev.kdirect.SocketConstants.TCP_CLOSE;
import static dev.kdirect.SocketConstants.TCP_CLOSE_WAIT;
import static dev.kdirect.SocketConstants.TCP_ESTABLISHED;
import static dev.kdirect.SocketConstants.TCP_LISTEN;

import dev.kdirect.Errno;
import dev.kdirect.SocketConstants;
import java.lang.foreign.MemorySegment;
import java.net.Inet4Address;
import java.net.InetSocketAddress;

/**
 * One end of a simulated TCP connection: the model of struct tcp_sock. It holds the state (CLOSE, LISTEN,
 * ESTABLISHED, CLOSE_WAIT), the sequence numbers (snd_una, snd_nxt, write_seq; rcv_nxt, copied_seq), the send
 * queue (snd_una..snd_nxt sent and not acknowledged, snd_nxt..write_seq never sent), the receive queue, the windows
 * of struct tcp_repair_window, the options negotiated at the handshake (MSS clamp, window scales, SACK, timestamps)
 * and the timestamp offset, and the repair state (repair flag, selected queue).
 *
 * <p>Segments go to whoever holds the reversed 4-tuple in the {@link SimulatedNetwork}: the peer takes the bytes
 * from its rcv_nxt on, as far as its receive buffer allows, and acknowledges at once (no timers: what the kernel
 * retransmits on a timer the model sends at the next event). Outside repair mode an endpoint transmits whenever it
 * has something to send; in repair mode it sends nothing (send(2) fills the selected queue), yet still receives,
 * as the real kernel does without a network lock. Every method runs with the network's monitor held.
 */
final class TcpEndpoint {
    /** TCP_MSS_DEFAULT: the MSS clamp before a handshake (tcp_v4_connect). */
    static final int TCP_MSS_DEFAULT = 536;
    /** The MSS clamp an IPv6 connect starts with: IPV6_MIN_MTU minus the IPv6 and TCP headers. */
    static final int IPV6_MIN_MSS = 1220;
    /** The MSS loopback (MTU 65536) advertises: the IPv4 and IPv6 maximum packet minus headers. */
    private static final int LOOPBACK_MSS_4 = 65495;
    private static final int LOOPBACK_MSS_6 = 65476;
    private static final int TIMESTAMP_OPTION_BYTES = 12;
    /** MAX_TCP_OPTION_SPACE: the most a segment's options take from its MSS (include/net/tcp.h). */
    private static final int MAX_TCP_OPTION_SPACE = 40;
    /** TCP_INIT_CWND: the congestion window a connection starts with, in segments (include/net/tcp.h). */
    private static final int TCP_INIT_CWND = 10;
    /** tcp_send_rcvq takes at most MAX_SKB_FRAGS pages plus the part of a page beyond them per call. */
    private static final int MAX_SKB_FRAGS = 17;
    private static final int PAGE = (int) SimulatedBackend.PAGE_SIZE;
    /** sizeof(struct skb_shared_info) on x86-64, cache-line aligned (SKB_DATA_ALIGN). */
    private static final int SHARED_INFO = 320;

    final SimulatedNetwork network;
    final SocketSettings settings;
    int state = TCP_CLOSE;
    InetSocketAddress local;
    InetSocketAddress remote;
    TcpListener listener;

    boolean repair;
    int repairQueue = SocketConstants.TCP_NO_QUEUE;

    int writeSeq;
    int sndUna;
    int sndNxt;
    int rcvNxt;
    int copiedSeq;
    private final SequenceQueue sendQueue = new SequenceQueue();
    private final SequenceQueue receiveQueue = new SequenceQueue();
    /** A bound on the truesize the receive queue charges, while it holds only bytes a repair send put there. */
    private long receiveChargeBound;
    /** The receive queue holds segments from the peer, whose truesize the model does not bound. */
    private boolean receiveChargeUnknown;
    long bytesSent;
    private boolean finPending;
    /** RCV_SHUTDOWN: a FIN or a reset arrived; reads of an empty queue return 0. */
    private boolean finReceived;
    /** SOCK_DONE: a FIN arrived (tcp_fin); unlike a reset, it answers reads before a pending error. */
    private boolean sockDone;
    /** The FIN's sequence number is not read yet: the first read that meets it moves copied_seq past it. */
    private boolean finUnread;
    /** A read took exactly the bytes before the FIN: it took the FIN too where the FIN came with the last bytes. */
    boolean finReadUnknown;
    /** sk_err: what a reset left for the next send or read (tcp_reset), 0 when none. */
    private int pendingError;
    /**
     * Closed by its process after its FIN was acknowledged, the peer's not yet received: FIN_WAIT2, which tcp_close
     * turns into a timewait socket (tcp_fin_timeout 60 s is not above TCP_TIMEWAIT_LEN), later TIME_WAIT. It holds
     * the 4-tuple and its port; no descriptor reaches it.
     */
    boolean orphan;
    /** The window fields are TCP_REPAIR_WINDOW's, not the model's own, until the next segment. */
    private boolean windowRepaired;
    /** SOCK_BINDPORT_LOCK: bind(2) named the port, so a reset (tcp_set_state CLOSE) keeps it (inet_put_port). */
    boolean portLocked;
    /** A reset gave the port back (inet_put_port): the socket may be bound again (__inet_bind checks inet_num). */
    boolean portReleased;
    /** A damaged peer (SimulatedMachine): takes in and acknowledges nothing, as a hung host or a cut link. */
    private boolean stalled;

    /** rx_opt.mss_clamp: 0 until a connect or handshake sets it (tcp_init_sock leaves it zeroed; 6.1, 6.18). */
    int mssClamp;
    int mssCache = TCP_MSS_DEFAULT;
    int sendWindowScale;
    int receiveWindowScale;
    boolean windowScaling;
    boolean sack;
    boolean timestamps;
    int timestampOffset;
    /** tcp_usec_ts (since 6.7): the timestamp clock counts microseconds; TCP_TIMESTAMP's low bit sets it. */
    boolean usecTimestamps;
    /** rx_opt.ts_recent: the peer's latest TSval this end took; none on a socket a repair connect made. */
    private int tsRecent;
    private boolean tsRecentSet;
    /**
     * mss_cache is what the model computed: a socket never connected, or a handshake's end whose MSS no window
     * bounded, or the connecting end right after the handshake. Otherwise a segment may change the largest window
     * the peer advertised, to half of which tcp_sync_mss bounds it (tcp_bound_to_half_wnd), and the model does not
     * follow the kernel's window arithmetic (__tcp_select_window).
     */
    boolean mssExact = true;

    int sndWl1;
    int sndWnd;
    int maxWindow;
    int rcvWnd;
    int rcvWup;

    TcpEndpoint(SimulatedNetwork network, SocketSettings settings) {
        this.network = network;
        this.settings = settings;
    }

    FourTuple tuple() {
        return new FourTuple(local, remote);
    }

    boolean connected() {
        return state == TCP_ESTABLISHED || state == TCP_CLOSE_WAIT;
    }

    /** The other end, or null when no socket holds the reversed 4-tuple. */
    private TcpEndpoint peer() {
        return remote == null ? null : network.endpoint(tuple().reversed());
    }

    // ---- connection setup

    /** The 3-way handshake with a listener's new child (tcp_v4_connect, tcp_rcv_synsent_state_process). */
    void handshake(TcpEndpoint child) {
        writeSeq = sndUna = sndNxt = synSequence() + 1; // the SYN takes the ISN
        child.writeSeq = child.sndUna = child.sndNxt = network.initialSequence();
        rcvNxt = copiedSeq = child.writeSeq;
        child.rcvNxt = child.copiedSeq = writeSeq;
        // each end's MSS clamp is the smaller of what it and its peer advertise (tcp_mss_clamp, tcp_parse_options)
        int mss = Math.min(child.advertisedMss(), advertisedMss());
        for (TcpEndpoint e : new TcpEndpoint[] {this, child}) {
            TcpEndpoint peer = e == this ? child : this;
            e.mssClamp = mss;
            e.mssCache = e.mssClamp - TIMESTAMP_OPTION_BYTES;
            e.receiveWindowScale = e.settings.windowScale();
            e.sendWindowScale = peer.settings.windowScale();
            e.windowScaling = e.sack = e.timestamps = true;
            e.timestampOffset = network.timestampOffset();
            e.usecTimestamps = false; // tcp_v4_connect and tcp_create_openreq_child: the route's feature, off on lo
            e.state = TCP_ESTABLISHED;
        }
        // tcp_sync_mss bounds the connecting end's MSS to half the window of the SYN-ACK (tcp_bound_to_half_wnd)
        mssCache = Math.min(mssCache, boundToHalfWindow(child.settings.initialWindow(child.mssCache)));
        updateWindows(child);
        child.updateWindows(this);
        tookTimestampOf(child);
        child.tookTimestampOf(this);
        // the connecting end's bound is the SYN-ACK's window, which the model computes; the accepting end's is the
        // final ACK's, which tcp_select_window never makes smaller than the SYN's (rcv_wnd of tcp_connect_init): an
        // MSS within half of that is not bounded, any other is bounded by a window the model does not compute
        mssExact = true;
        child.mssExact = child.mssCache <= boundToHalfWindow(settings.initialWindow(advertisedMss()));
        // snd_wl1 is the sequence of the segment that set the send window (tcp_init_wl, net/ipv4/tcp_input.c, 6.1
        // and 6.18): the SYN-ACK's on the connecting end (tcp_rcv_synsent_state_process), one before rcv_nxt; the
        // final ACK's on the accepting end (tcp_rcv_state_process, TCP_SYN_RECV), rcv_nxt
        sndWl1 = rcvNxt - 1;
        child.sndWl1 = child.rcvNxt;
    }

    /** The MSS option of this end's SYN: the loopback route's advmss, less a smaller TCP_MAXSEG. */
    private int advertisedMss() {
        int mss = local.getAddress() instanceof Inet4Address ? LOOPBACK_MSS_4 : LOOPBACK_MSS_6;
        return settings.userMss != 0 ? Math.min(mss, settings.userMss) : mss;
    }

    /** tcp_bound_to_half_wnd: half a window larger than TCP_MSS_DEFAULT, but not under 68 less the headers. */
    private static int boundToHalfWindow(int window) {
        int cutoff = window > TCP_MSS_DEFAULT ? window / 2 : window;
        return Math.max(cutoff, 68 - 20 - TIMESTAMP_OPTION_BYTES);
    }

    /**
     * connect(2) in repair mode (tcp_connect with tp->repair): no SYN, straight to ESTABLISHED with the sequence
     * numbers TCP_QUEUE_SEQ set (tcp_connect_init: snd_una = snd_nxt = write_seq, copied_seq = rcv_wup = rcv_nxt)
     * and no options until TCP_REPAIR_OPTIONS. The timestamp offset stays what TCP_TIMESTAMP set (tcp_v4_connect and
     * tcp_v6_connect draw a new one only outside repair mode; 6.1 as 6.18).
     */
    void connectRepaired() {
        sndUna = sndNxt = writeSeq;
        copiedSeq = rcvWup = rcvNxt;
        mssClamp = local.getAddress() instanceof Inet4Address ? TCP_MSS_DEFAULT : IPV6_MIN_MSS;
        mssCache = mssClamp;
        tsRecentSet = false; // ts_recent 0: the first segment's TSval passes PAWS (tcp_paws_check)
        usecTimestamps = false; // tcp_v4_connect sets it from the route in repair mode too (6.7 and later)
        mssExact = false;
        sndWl1 = sndWnd = maxWindow = 0;
        // tcp_connect_init (net/ipv4/tcp_output.c, 6.1 and 6.18) runs in repair mode too: the window of
        // tcp_select_initial_window for the route's advmss (no timestamps negotiated yet)
        rcvWnd = settings.initialWindow(advertisedMss());
        state = TCP_ESTABLISHED;
    }

    /**
     * A SYN answered by a RST (no listener): the SYN took the ISN (TCP_QUEUE_SEQ's write_seq, or a new one), and a
     * blocking connect that fails disconnects (inet_stream_connect, tcp_disconnect: write_seq += max_window + 2, 1
     * for 0; 6.1 as 6.18), which SIOCOUTQ shows.
     */
    void refusedSyn(boolean disconnect) {
        int isn = synSequence();
        sndUna = isn;
        sndNxt = writeSeq = isn + 1;
        if (disconnect) {
            writeSeq += maxWindow + 2;
            if (writeSeq == 0) {
                writeSeq = 1;
            }
        }
    }

    /** The ISN of a connect: a write_seq TCP_QUEUE_SEQ set, else a new one (tcp_v4_connect draws one only for 0). */
    private int synSequence() {
        return writeSeq != 0 ? writeSeq : network.initialSequence();
    }

    // ---- repair mode

    void enterRepair() {
        repair = true;
        repairQueue = SocketConstants.TCP_NO_QUEUE;
        settings.reuse = SocketSettings.SK_FORCE_REUSE;
    }

    /**
     * TCP_REPAIR off: the socket sends again. With the window probe (TCP_REPAIR_OFF) the peer answers and
     * resends what this end lacks; the model also resends at once what the kernel's retransmission timer would.
     */
    void leaveRepair(boolean windowProbe) {
        repair = false;
        settings.reuse = SocketSettings.SK_NO_REUSE;
        if (state == TCP_ESTABLISHED || state == TCP_CLOSE_WAIT) {
            transmit();
            TcpEndpoint peer = peer();
            if (windowProbe && state == TCP_ESTABLISHED && peer != null && !peer.stalled && !peer.orphan) {
                probeWindow(peer);
            }
        }
    }

    /**
     * tcp_send_window_probe (net/ipv4/tcp_output.c, 6.1 as 6.18; ESTABLISHED only): a bare segment at snd_una - 1,
     * which sets this end's advertised window (tcp_select_window). The peer answers with a duplicate ACK, in repair
     * mode too, where the segment lies outside its window (tcp_validate_incoming: !tcp_sequence), as it does unless
     * TCP_REPAIR_WINDOW moved rcv_wup back; inside, the peer takes the segment's window and answers nothing.
     */
    private void probeWindow(TcpEndpoint peer) {
        int seq = sndUna - 1;
        int peerWindow = Math.max(0, peer.rcvWup + peer.rcvWnd - peer.rcvNxt);
        boolean outside = before(seq, peer.rcvWup) || after(seq, peer.rcvNxt + peerWindow);
        if (outside) {
            peer.acknowledge();
            if (peer.repair) { // acknowledge() sends nothing in repair mode, the duplicate ACK goes out anyway
                updateWindows(peer);
                peer.updateWindows(this);
            }
        } else {
            advertiseWindow();
            peer.mssExact = false; // its view of this end's window moved as tcp_ack takes it (not modelled)
        }
    }

    /** The struct tcp_repair_window fields, in order. */
    int[] window() {
        return new int[] {sndWl1, sndWnd, maxWindow, rcvWnd, rcvWup};
    }

    /** tcp_repair_set_window: the checks against rcv_nxt, then the values. */
    int setWindow(int wl1, int wnd, int max, int rwnd, int wup) {
        if (Integer.compareUnsigned(max, wnd) < 0) {
            return -Errno.EINVAL.value();
        }
        if (after(wl1, rcvNxt + rwnd) || after(wup, rcvNxt)) {
            return -Errno.EINVAL.value();
        }
        sndWl1 = wl1;
        sndWnd = wnd;
        maxWindow = max;
        rcvWnd = rwnd;
        rcvWup = wup;
        windowRepaired = true;
        return 0;
    }

    // ---- data

    /** SIOCINQ (tcp_inq): unread bytes, less one for a FIN received. */
    int inq() {
        int answer = rcvNxt - copiedSeq;
        return answer != 0 && sockDone ? answer - 1 : answer;
    }

    /** SIOCOUTQ: the whole send queue. */
    int outq() {
        return writeSeq - sndUna;
    }

    /** SIOCOUTQNSD: the part of the send queue never sent. */
    int unsent() {
        return writeSeq - sndNxt;
    }

    /** tcp_rtx_queue_empty: no byte sent and unacknowledged is held (a reset purged the queues, or none is). */
    boolean retransmitQueueEmpty() {
        return sendQueue.size() == 0 || sndUna == sndNxt;
    }

    /**
     * tcp_sendmsg_locked: a connection that is not ESTABLISHED or CLOSE_WAIT fails in sk_stream_wait_connect (a
     * pending error first, then EPIPE, also in repair mode); in repair mode the bytes go to the selected queue and
     * nothing is transmitted (the send queue's bytes count as sent: tcp_write_xmit advances snd_nxt for them);
     * otherwise they are queued as far as the send buffer allows and transmitted.
     */
    long send(MemorySegment data, boolean nonblocking) {
        if (pendingError != 0) {
            int error = pendingError; // sock_error: reported once
            pendingError = 0;
            return -error;
        }
        if (!connected()) {
            return -Errno.EPIPE.value();
        }
        if (repair && repairQueue == SocketConstants.TCP_RECV_QUEUE) {
            return refillReceiveQueue(data);
        }
        if (repair && repairQueue == SocketConstants.TCP_NO_QUEUE) {
            return -Errno.EINVAL.value();
        }
        long done = 0;
        while (done < data.byteSize()) {
            int room = settings.sendBuffer - sendQueue.size();
            if (room <= 0) {
                if (nonblocking) {
                    return done > 0 ? done : -Errno.EAGAIN.value();
                }
                network.await();
                continue;
            }
            int n = (int) Math.min(room, data.byteSize() - done);
            sendQueue.append(data.asSlice(done, n));
            writeSeq += n;
            done += n;
            if (repair) {
                sndNxt = writeSeq;
            } else {
                transmit();
            }
        }
        return done;
    }

    /**
     * tcp_send_rcvq (net/ipv4/tcp_input.c, 6.1 as 6.18): one skb of at most MAX_SKB_FRAGS pages plus the part of a
     * page beyond them, queued at rcv_nxt if tcp_try_rmem_schedule admits its truesize, else ENOBUFS (err keeps the
     * -ENOBUFS alloc_skb_with_frags set before it succeeded). Admission counts truesize, after coalescing with the
     * tail skb and tcp_collapse, and sk_rcvbuf may grow to tcp_rmem[2] unless locked (tcp_clamp_window): the model
     * admits what surely fits (an empty queue, or a bound on the charged truesize within sk_rcvbuf), refuses what
     * surely does not (more bytes queued than sk_rcvbuf can grow to), and refuses to guess in between.
     */
    private long refillReceiveQueue(MemorySegment data) {
        long size = data.byteSize();
        if (size == 0) {
            return 0;
        }
        if (finUnread) {
            throw new UnsupportedOperationException("TCP_REPAIR send to the receive queue after the peer's FIN: the"
                    + " kernel queues the bytes behind the FIN, which reads meet first (tcp_recvmsg_locked), and the"
                    + " simulated kernel does not order data after a FIN");
        }
        long pages = 0;
        if (size > PAGE) {
            pages = Math.min(size / PAGE, MAX_SKB_FRAGS);
            size = pages * PAGE + size % PAGE;
        }
        long bound = pages * PAGE + truesizeBeyondFrags(size - pages * PAGE);
        if (receiveQueue.size() > 0) {
            if (receiveQueue.size() > settings.receiveBufferLimit()) {
                return -Errno.ENOBUFS.value();
            }
            if (receiveChargeUnknown || receiveChargeBound + bound > settings.receiveBuffer) {
                throw new UnsupportedOperationException("TCP_REPAIR send to the receive queue: whether"
                        + " tcp_try_rmem_schedule admits " + size + " more bytes after " + receiveQueue.size()
                        + " queued depends on skb truesize, coalescing and tcp_collapse, which the simulated kernel"
                        + " does not count (it admits an empty queue, or bytes whose truesize surely fits sk_rcvbuf "
                        + settings.receiveBuffer + ")");
            }
        }
        receiveQueue.append(data.asSlice(0, size));
        receiveChargeBound += bound;
        rcvNxt += (int) size;
        return size;
    }

    /**
     * A bound on what an skb with {@code linear} bytes in its head charges beyond its page frags (SKB_TRUESIZE): the
     * head from kmalloc, the data and skb_shared_info cache-line aligned, in a bucket of at most the next power of
     * two or skb_small_head_cache's (under 1 KiB), and struct sk_buff (under 512 bytes).
     */
    private static long truesizeBeyondFrags(long linear) {
        long head = ((linear + 63) & ~63L) + SHARED_INFO;
        return Math.max(Long.highestOneBit(head - 1) << 1, 1024) + 512;
    }

    /**
     * tcp_recvmsg_locked: in repair mode only MSG_PEEK, of the selected queue (the send queue from snd_una:
     * tcp_peek_sndq, which copies what fits and reports the whole queue's size); otherwise the receive queue,
     * waiting unless non-blocking, 0 after the peer's FIN.
     */
    long receive(MemorySegment buffer, boolean peek, boolean nonblocking) {
        if (state == TCP_LISTEN) {
            return -Errno.ENOTCONN.value();
        }
        if (repair) {
            if (!peek) {
                return -Errno.EPERM.value();
            }
            if (repairQueue == SocketConstants.TCP_SEND_QUEUE) {
                sendQueue.copyTo(0, buffer, (int) Math.min(buffer.byteSize(), sendQueue.size()));
                return sendQueue.size();
            }
            if (repairQueue == SocketConstants.TCP_NO_QUEUE) {
                return -Errno.EINVAL.value();
            }
        }
        // a zero-length read still waits for a byte (tcp_recvmsg_locked: sock_rcvlowat's target is at least 1), so
        // an empty queue answers as for any length: EAGAIN, 0 after a FIN, ENOTCONN never connected (6.1, 6.18)
        while (receiveQueue.size() == 0) {
            // tcp_recvmsg_locked's order: SOCK_DONE, then sk_err, then RCV_SHUTDOWN
            if (sockDone) {
                if (finUnread && !peek) {
                    copiedSeq += 1; // found_fin_ok: ++*seq, the FIN's skb eaten
                    finUnread = false;
                    finReadUnknown = false;
                }
                return 0;
            }
            if (pendingError != 0) {
                int error = pendingError;
                pendingError = 0;
                return -error;
            }
            if (finReceived) {
                return 0;
            }
            if (state == TCP_CLOSE) {
                return -Errno.ENOTCONN.value(); // never connected
            }
            if (nonblocking) {
                return -Errno.EAGAIN.value();
            }
            network.await();
        }
        int n = (int) Math.min(buffer.byteSize(), receiveQueue.size());
        receiveQueue.copyTo(0, buffer, n);
        if (!peek) {
            receiveQueue.drop(n);
            copiedSeq += n;
            if (receiveQueue.size() == 0 && finUnread) {
                // tcp_recvmsg_locked walks on to the FIN while the buffer has room (found_fin_ok: ++copied_seq)
                if (n < buffer.byteSize()) {
                    copiedSeq += 1;
                    finUnread = false;
                } else {
                    finReadUnknown = true;
                }
            }
            if (receiveQueue.size() == 0) {
                receiveChargeBound = 0; // every skb freed
                receiveChargeUnknown = false;
            }
            TcpEndpoint peer = peer();
            if (peer != null) {
                peer.acknowledge(); // the window opened
            }
        }
        return n;
    }

    /**
     * Sends what the peer has not received yet (from its rcv_nxt), as far as its receive buffer allows; the peer
     * acknowledges at once. Nothing in repair mode, and no segment where there is nothing to send. With nobody
     * holding the 4-tuple the bytes count as sent and stay unacknowledged.
     */
    void transmit() {
        transmit(false);
    }

    /** {@link #transmit}, with a segment (an ACK and its window) even where there is nothing new to send. */
    private void acknowledge() {
        transmit(true);
    }

    private void transmit(boolean evenEmpty) {
        if (repair || !connected() && !finPending) {
            return;
        }
        TcpEndpoint peer = peer();
        if (peer != null && peer.orphan) {
            toOrphan(peer);
            return;
        }
        if (peer != null && peer.windowRepaired && after(writeSeq, peer.rcvNxt)
                && peer.rcvWup + peer.rcvWnd - peer.rcvNxt <= 0) {
            // tcp_data_queue drops in-sequence data when tcp_receive_window is 0 (its dup ACK then opens the
            // window, and the sender's retransmission timer sends the bytes again, 200 ms or more later)
            throw new UnsupportedOperationException("data to a receive window TCP_REPAIR_WINDOW closed (rcv_wup"
                    + " + rcv_wnd not after rcv_nxt): the kernel drops it and retransmits it on its timer, which the"
                    + " simulated kernel does not run");
        }
        if (peer == null) {
            heldBack();
            if (finPending && finReceived) {
                network.release(this); // the peer closed first: its TIME_WAIT acknowledges this FIN
            }
            return;
        }
        if (peer.stalled) {
            bytesSent += writeSeq - sndNxt; // transmitted, and lost (tcp_transmit_skb counts them)
            sndNxt = writeSeq;
            return;
        }
        int offset = peer.rcvNxt - sndUna;
        int available = writeSeq - peer.rcvNxt;
        if (offset < 0 || available < 0) {
            // not the next bytes the peer expects (a hole, or bytes it has: TCP_REPAIR put others at its rcv_nxt):
            // sent as to nobody, the peer drops them and its ACK acknowledges nothing this end sent
            heldBack();
            return;
        }
        if (offset == 0 && available == 0 && !finPending && !evenEmpty) {
            return; // nothing to send or acknowledge: no segment, and the windows stay as they are
        }
        if (!peer.takesAck(rcvNxt - (sockDone ? 1 : 0))) { // the model's FIN takes no snd_nxt of its own
            // the peer discards the whole segment, its data too: sent as to nobody
            heldBack();
            return;
        }
        checkPaws(this, peer);
        checkPaws(peer, this); // its ACK
        checkWindowScales(this, peer);
        if (after(sndNxt, sndUna) && after(writeSeq, sndNxt)) {
            // bytes the peer dropped (sent as to nobody above) are still unacknowledged
            throw behindUnacknowledged("that the peer dropped");
        }
        int n = Math.min(available, Math.max(0, peer.settings.receiveBuffer - peer.receiveQueue.size()));
        sendQueue.copyTo(offset, peer.receiveQueue, n);
        peer.rcvNxt += n;
        peer.receiveChargeUnknown |= n > 0;
        bytesSent += n;
        if (n == available && finPending && !peer.finReceived) {
            peer.finReceived = true;
            peer.sockDone = true;
            peer.rcvNxt += 1;
            peer.finUnread = true;
            peer.state = TCP_CLOSE_WAIT;
        }
        int acknowledged = offset + n;
        sendQueue.drop(acknowledged);
        sndUna += acknowledged;
        if (after(sndUna, sndNxt)) {
            sndNxt = sndUna;
        }
        updateWindows(peer);
        peer.updateWindows(this);
        peer.tookTimestampOf(this);
        tookTimestampOf(peer);
        if (finPending && peer.sockDone && sendQueue.size() == 0) {
            if (finReceived) {
                network.release(this); // LAST_ACK acknowledged
            } else {
                orphan = true; // FIN_WAIT2
            }
        }
        network.changed();
    }

    private static UnsupportedOperationException behindUnacknowledged(String which) {
        return new UnsupportedOperationException("bytes sent while earlier ones are unacknowledged (sent " + which
                + "): whether tcp_write_xmit sends them now follows Nagle's rule with Minshall's variant"
                + " (tcp_nagle_check, which holds a short segment back) and TSO deferral (tcp_tso_should_defer),"
                + " which the simulated kernel does not model");
    }

    /**
     * Bytes to a 4-tuple nobody holds, held back as under a network lock (the class comment): tcp_write_xmit sends
     * what the send window (snd_una + snd_wnd, tcp_snd_wnd_test) takes; they count as sent, unacknowledged, and in
     * bytes_sent (tcp_transmit_skb). With earlier bytes unacknowledged, whether it sends them now follows Nagle's
     * rule, and for more than the initial congestion window the congestion window: the model refuses those.
     */
    private void heldBack() {
        int windowEnd = sndUna + sndWnd;
        if (!after(writeSeq, sndNxt) || !after(windowEnd, sndNxt)) {
            return; // nothing new, or a window closed to all of it (the persist timer probes it)
        }
        if (finPending) {
            return; // closed: its descriptor is gone, and with it whatever would show how much went out
        }
        if (after(writeSeq, windowEnd)) {
            throw new UnsupportedOperationException("a send window that takes part of the unsent bytes: where"
                    + " tcp_write_xmit splits them follows the MSS, Nagle and TSO rules, which the simulated kernel"
                    + " does not model");
        }
        if (sndNxt != sndUna) {
            throw behindUnacknowledged("to a 4-tuple no socket holds");
        }
        if (writeSeq - sndNxt > TCP_INIT_CWND * (mssCache - MAX_TCP_OPTION_SPACE)) {
            throw new UnsupportedOperationException("more bytes than the initial congestion window (TCP_INIT_CWND"
                    + " segments, tcp_cwnd_test) to a 4-tuple no socket holds: how many segments tcp_write_xmit"
                    + " sends follows the MSS of each, which the simulated kernel does not model");
        }
        bytesSent += writeSeq - sndNxt;
        sndNxt = writeSeq;
    }

    /**
     * A segment to a FIN_WAIT2 or TIME_WAIT socket (tcp_timewait_state_process, net/ipv4/tcp_minisocks.c, 6.1 as
     * 6.18): new data after its half-close draws a RST (TCP_TW_RST) and ends it; a FIN alone it acknowledges (and
     * stays in TIME_WAIT).
     */
    private void toOrphan(TcpEndpoint orphan) {
        checkPaws(this, orphan); // tcp_timewait_state_process: a PAWS failure draws an ACK, not the RST
        bytesSent += writeSeq - sndNxt;
        sndNxt = writeSeq;
        if (after(writeSeq, orphan.rcvNxt)) {
            network.release(orphan);
            receiveReset();
        } else if (finPending && finReceived) {
            network.release(this); // LAST_ACK acknowledged
        }
        network.changed();
    }

    /** After a segment: this end's view of both windows (snd_wl1, snd_wnd, max_window; rcv_wnd, rcv_wup). */
    private void updateWindows(TcpEndpoint peer) {
        // max_window only grows: an MSS no window bounded stays unbounded, a bounded one follows the windows
        mssExact &= mssCache == mssClamp - TIMESTAMP_OPTION_BYTES;
        sndWl1 = rcvNxt;
        sndWnd = Math.max(0, peer.settings.receiveBuffer - peer.receiveQueue.size());
        maxWindow = Math.max(maxWindow, sndWnd);
        advertiseWindow();
    }

    /** A segment sent: the window it advertises is rcv_wnd from rcv_nxt on (tcp_select_window). */
    private void advertiseWindow() {
        windowRepaired = false;
        rcvWnd = Math.max(0, settings.receiveBuffer - receiveQueue.size());
        rcvWup = rcvNxt;
    }

    /**
     * close(2) (tcp_close): a listener resets its pending connections; in repair mode nothing is sent
     * (tcp_disconnect); unread received bytes make it a RST; otherwise a FIN follows the queued bytes.
     */
    void close() {
        if (state == TCP_LISTEN) {
            for (TcpEndpoint child : listener.pending()) {
                child.reset();
            }
        }
        if (!connected() || repair) {
            network.release(this);
            return;
        }
        if (receiveQueue.size() > 0) {
            reset();
            return;
        }
        finPending = true;
        state = TCP_CLOSE;
        transmit();
    }

    /**
     * Damage: the peer aborts the connection, as a peer that crashed and answers with a RST: this end's next call
     * fails with ECONNRESET (tcp_reset, net/ipv4/tcp_input.c), later reads return 0.
     *
     * @throws IllegalStateException when the peer is not in the model
     */
    void peerResets() {
        requirePeer().reset();
        network.changed();
    }

    /**
     * Damage: the peer stops taking in segments ({@code true}) or resumes ({@code false}), when what was sent
     * meanwhile is retransmitted. While stalled, this end's bytes stay in its send queue, sent and unacknowledged.
     *
     * @throws IllegalStateException when the peer is not in the model
     */
    void stallPeer(boolean stall) {
        requirePeer().stalled = stall;
        if (!stall) {
            transmit();
        }
        network.changed();
    }

    private TcpEndpoint requirePeer() {
        TcpEndpoint peer = peer();
        if (peer == null) {
            throw new IllegalStateException("no peer of " + tuple() + " in this simulated kernel: both ends of the"
                    + " connection must be its sockets");
        }
        return peer;
    }

    private void reset() {
        TcpEndpoint peer = peer();
        if (peer != null) {
            peer.receiveReset();
        }
        network.release(this);
    }

    /**
     * tcp_reset (net/ipv4/tcp_input.c, 6.1 as 6.18): the error by state (EPIPE in CLOSE_WAIT, else ECONNRESET; none
     * once closed), then tcp_done: CLOSE, both directions shut (reads of an empty queue return 0 after the error),
     * out of the established hash. The send queue's sequence numbers stay (SIOCOUTQ counts them still).
     */
    private void receiveReset() {
        if (state == TCP_CLOSE) {
            return;
        }
        pendingError = state == TCP_CLOSE_WAIT ? Errno.EPIPE.value() : Errno.ECONNRESET.value();
        sendQueue.drop(sendQueue.size()); // tcp_write_queue_purge: the bytes go, their sequence numbers stay
        finReceived = true;
        state = TCP_CLOSE;
        network.release(this);
        portReleased = !portLocked;
        if (portLocked) {
            network.holdPort(this);
        }
        network.changed();
    }

    /**
     * Whether a segment acknowledging {@code ack} gets past tcp_ack (net/ipv4/tcp_input.c, 6.1 as 6.18): an ACK of
     * bytes this end never sent (after snd_nxt; TCP_REPAIR put them in the peer's receive queue) or one before
     * snd_una and older than snd_una - max_window (RFC 5961 5.2; a repair connect's max_window is 0) makes it
     * discard the whole segment.
     */
    private boolean takesAck(int ack) {
        return !after(ack, sndNxt) && !(before(ack, sndUna) && before(ack, sndUna - maxWindow));
    }

    /**
     * Each end reads the other's window field with the scale it took for the other (snd_wscale) and writes its own
     * with its rcv_wscale; TCP_REPAIR_OPTIONS can set scales the other end does not use, and then the windows each
     * end believes (and what tcp_write_xmit sends into them) differ from the model's byte counts: refused.
     */
    private static void checkWindowScales(TcpEndpoint a, TcpEndpoint b) {
        if (a.windowScaling && b.windowScaling
                && (a.sendWindowScale != b.receiveWindowScale || a.receiveWindowScale != b.sendWindowScale)) {
            throw new UnsupportedOperationException("window scales that TCP_REPAIR_OPTIONS made differ between the"
                    + " ends (snd_wscale " + a.sendWindowScale + " and " + b.sendWindowScale + ", rcv_wscale "
                    + a.receiveWindowScale + " and " + b.receiveWindowScale + "): each end misreads the other's"
                    + " window, which the simulated kernel does not follow");
        }
    }

    /** The TSval of this end's segments now: the timestamp clock plus tsoffset (tcp_skb_timestamp_ts). */
    int tsval() {
        return network.clock(usecTimestamps) + timestampOffset;
    }

    /** After a segment from {@code sender}, timestamps on both ends: its TSval is ts_recent (tcp_store_ts_recent). */
    private void tookTimestampOf(TcpEndpoint sender) {
        if (timestamps && sender.timestamps) {
            tsRecent = sender.tsval();
            tsRecentSet = true;
        }
    }

    /**
     * PAWS (tcp_paws_check, include/net/tcp.h, 6.1 as 6.18): a segment whose TSval is more than 1 before the
     * receiver's ts_recent is dropped (tcp_validate_incoming) and answered with a duplicate ACK; the sender's bytes
     * then wait for retransmissions on timers. A TCP_TIMESTAMP set back on a live connection does that, which the
     * model refuses to follow.
     */
    private static void checkPaws(TcpEndpoint sender, TcpEndpoint receiver) {
        if (sender.timestamps && receiver.timestamps && receiver.tsRecentSet
                && receiver.tsRecent - sender.tsval() > 1) {
            throw new UnsupportedOperationException("a segment whose TSval is before the peer's ts_recent"
                    + " (TCP_TIMESTAMP set back on a live connection): PAWS drops it (tcp_paws_discard), and what it"
                    + " carried waits for retransmission timers, which the simulated kernel does not run");
        }
    }

    /** The options byte of struct tcp_info (TCPI_OPT_*). */
    int infoOptions() {
        return (timestamps ? SocketConstants.TCPI_OPT_TIMESTAMPS : 0) | (sack ? SocketConstants.TCPI_OPT_SACK : 0)
                | (windowScaling ? SocketConstants.TCPI_OPT_WSCALE : 0)
                | (usecTimestamps ? SocketConstants.TCPI_OPT_USEC_TS : 0); // tcp_get_info, 6.7 and later
    }

    /** Sequence order modulo 2^32 (include/net/tcp.h after()). */
    static boolean after(int a, int b) {
        return b - a < 0;
    }

    /** Sequence order modulo 2^32 (include/net/tcp.h before()). */
    static boolean before(int a, int b) {
        return after(b, a);
    }
}
