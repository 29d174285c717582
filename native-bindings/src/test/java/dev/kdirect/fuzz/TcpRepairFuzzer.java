package dev.kdirect.fuzz;

import static dev.kdirect.SocketConstants.AF_INET;
import static dev.kdirect.SocketConstants.MSG_DONTWAIT;
import static dev.kdirect.SocketConstants.MSG_NOSIGNAL;
import static dev.kdirect.SocketConstants.MSG_PEEK;
import static dev.kdirect.SocketConstants.SOCK_NONBLOCK;
import static dev.kdirect.SocketConstants.SOCK_STREAM;
import static dev.kdirect.SocketConstants.SOL_SOCKET;
import static dev.kdirect.SocketConstants.SOL_TCP;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.kdirect.Binding;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.SocketConstants;
import dev.kdirect.TcpStructs;
import dev.kdirect.KernelRelease;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;

/**
 * Random programs of TCP repair calls over sockets on 127.0.0.1: a listener, a client and server pair connected by
 * the kernel's handshake, a fresh socket (to bind, listen or connect), a socket to restore in repair mode, and the
 * connection the listener accepts next. Steps toggle repair mode (1, 0, -1 and invalid values), select queues, set
 * and read TCP_QUEUE_SEQ, TCP_REPAIR_OPTIONS (whole, short and invalid), TCP_REPAIR_WINDOW, TCP_TIMESTAMP, send and
 * receive (always MSG_DONTWAIT, so nothing blocks), SIOCINQ/SIOCOUTQ/SIOCOUTQNSD and TCP_INFO's prefix.
 *
 * <p>What differs between the kernels by chance is never compared literally: ports and addresses are not printed;
 * sequence numbers are printed relative to an anchor both worlds share (the client's and the server's send sequence,
 * read at open through repair mode, zero, and the values a program set); TCP_TIMESTAMP is printed relative to the
 * value last set on that socket; the bytes of tcp_info that timers move (ca_state, retransmits, probes, backoff) are
 * left out. Received data is compared byte for byte.
 *
 * <p>Left out, each because the model assumes what a migration arranges and this world cannot: the simulated network
 * holds back segments to a 4-tuple no socket holds, as under CRIU's network lock (docs/tcprepair.md), where the real
 * kernel answers them with a RST. The real world stands in for the lock with a sink: a listener with a drop-all
 * socket filter, whose segments vanish as under the lock (tcp_v4_rcv drops what tcp_filter refuses, without a
 * reset). A connect in repair mode therefore goes to the sink, or to the server over the client's own address (the
 * restore); a connect outside repair mode goes to the listener (a SYN to the sink would wait for ever on the real
 * side). After a socket is closed in repair mode (a detach) its peer is not used until a restore takes the 4-tuple
 * again: without a lock the real peer's next segment draws a RST.
 */
public final class TcpRepairFuzzer implements Fuzzer<TcpRepairFuzzer.Net> {
    /** The sockets a step names. */
    public enum Role { LISTENER, CLIENT, SERVER, FRESH, RESTORE, ACCEPTED }

    /** What a sequence number of a step is relative to. */
    public enum Base { ZERO, C2S, S2C }

    private static final java.util.concurrent.atomic.AtomicInteger CLIENT_HOSTS =
            new java.util.concurrent.atomic.AtomicInteger();
    /** SO_ATTACH_FILTER (include/uapi/asm-generic/socket.h): the sink's drop-all classic BPF filter. */
    private static final int SO_ATTACH_FILTER = 26;
    /** BPF_RET | BPF_K with k = 0: accept no byte of the packet. */
    private static final short BPF_RET_K = 0x06;
    /**
     * Less than the first loss probe or retransmission of a socket without an RTT estimate (TCP_TIMEOUT_INIT, 1 s),
     * with room for a step's own time under TCG on a loaded machine.
     */
    private static final long RETRANSMISSION_SAFE_NANOS = 400_000_000L;
    /** How far from an anchor a sequence number is still printed relative to it. */
    private static final int ANCHOR_RANGE = 1 << 18;
    private static final int[] OPTIONS_CODES = {SocketConstants.TCPOPT_MAXSEG, SocketConstants.TCPOPT_WINDOW,
        SocketConstants.TCPOPT_SACK_PERM, SocketConstants.TCPOPT_TIMESTAMP, 0, 1, 5, 99};

    @Override
    public String name() {
        return "tcp-repair";
    }

    @Override
    public Feature feature() {
        return Feature.TCP_REPAIR;
    }

    @Override
    public Net open(Kernel kernel, Path dir) throws Exception {
        return new Net(kernel);
    }

    // ---- the world

    /** The sockets of one program on one kernel, and what the steps need to print values both kernels share. */
    public static final class Net implements AutoCloseable {
        final Kernel k;
        final Arena arena = Arena.ofConfined();
        final int[] fd = new int[Role.values().length];
        /** The role whose repair-mode close left this role talking to nobody, or null. */
        final Role[] orphanedBy = new Role[Role.values().length];
        final Integer[] timestampSet = new Integer[Role.values().length];
        final boolean[] boundToClient = new boolean[Role.values().length];
        /**
         * A connect outside repair mode over the client's address: the kernel's ISN for a 4-tuple used before is the
         * earlier one plus the clock (secure_tcp_seq), so its sequence numbers are not printed.
         */
        final boolean[] clockSequence = new boolean[Role.values().length];
        final boolean[] connected = new boolean[Role.values().length];
        /** The handshake gave the socket an RTT estimate (srtt): its loss probe fires within milliseconds. */
        final boolean[] rttKnown = new boolean[Role.values().length];
        /** Connected to a socket of this world (not the sink). */
        final boolean[] livePeer = new boolean[Role.values().length];
        /**
         * The socket's windows came from segments exchanged: the kernel's window arithmetic (__tcp_select_window,
         * tcp_ack_update_window, header prediction) set snd_wl1 and the sizes, which the model does not follow; only
         * the length of TCP_REPAIR_WINDOW is compared then.
         */
        final boolean[] shaped = new boolean[Role.values().length];
        final List<Integer> anchors = new ArrayList<>();
        final List<String> anchorNames = new ArrayList<>();
        int sink = -1;
        /** When a send in repair mode first armed a retransmission timer (System.nanoTime). */
        long retransmissionArmed;
        /**
         * The role has bytes queued in repair mode for a live peer, or was repair-connected to one: once it leaves
         * repair mode, the kernel's first exchanges wait for timers (see {@link TcpRepairFuzzer#interference}).
         */
        final boolean[] timerBound = new boolean[Role.values().length];
        /** The role queued bytes in repair mode: counted as sent, never sent, so never acknowledged. */
        final boolean[] queuedInRepair = new boolean[Role.values().length];
        /** A role with {@link #timerBound} left repair mode. */
        String timersRun;
        /**
         * TCP_TIMESTAMP was set on a connection with a live peer: whether the peer's PAWS check drops the next
         * segments depends on the offsets each kernel drew at random for the connection (see interference).
         */
        String pawsDecides;
        InetSocketAddress listenerAddress;
        InetSocketAddress sinkAddress;
        InetSocketAddress clientAddress;
        int c2s;
        int s2c;

        Net(Kernel kernel) throws Exception {
            this.k = kernel;
            java.util.Arrays.fill(fd, -1);
            InetSocketAddress loopback = new InetSocketAddress(InetAddress.ofLiteral("127.0.0.1"), 0);
            fd[Role.LISTENER.ordinal()] = k.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            k.bind(fd(Role.LISTENER), loopback);
            k.listen(fd(Role.LISTENER), 128);
            listenerAddress = k.getsockname(fd(Role.LISTENER));
            sink = k.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            k.bind(sink, loopback);
            if (k.binding() != Binding.SIMULATED) {
                // the lock's stand-in (see the class comment); the model holds such segments back by itself
                MemorySegment insn = arena.allocate(8);
                insn.set(JAVA_SHORT, 0, BPF_RET_K);
                MemorySegment program = arena.allocate(16);
                program.set(JAVA_SHORT, 0, (short) 1);
                program.set(JAVA_LONG, 8, insn.address());
                k.setsockopt(sink, SOL_SOCKET, SO_ATTACH_FILTER, program);
            }
            k.listen(sink, 128);
            sinkAddress = k.getsockname(sink);
            InetAddress clientHost = nextClientHost();
            while (true) {
                fd[Role.CLIENT.ordinal()] = k.socket(AF_INET, SOCK_STREAM, 0);
                k.bind(fd(Role.CLIENT), new InetSocketAddress(clientHost, 0));
                k.connect(fd(Role.CLIENT), listenerAddress);
                fd[Role.SERVER.ordinal()] = accept();
                clientAddress = k.getsockname(fd(Role.CLIENT));
                c2s = sequence(fd(Role.CLIENT), SocketConstants.TCP_SEND_QUEUE);
                s2c = sequence(fd(Role.CLIENT), SocketConstants.TCP_RECV_QUEUE);
                // anchors too close to each other (or to zero) would print ambiguously: draw new sequences
                if (far(c2s, 0) && far(s2c, 0) && far(c2s, s2c)) {
                    break;
                }
                k.close(fd(Role.CLIENT));
                k.close(fd(Role.SERVER));
            }
            shaped[Role.CLIENT.ordinal()] = shaped[Role.SERVER.ordinal()] = true;
            livePeer[Role.CLIENT.ordinal()] = livePeer[Role.SERVER.ordinal()] = true;
            rttKnown[Role.CLIENT.ordinal()] = rttKnown[Role.SERVER.ordinal()] = true;
            connected[Role.CLIENT.ordinal()] = connected[Role.SERVER.ordinal()] = true;
            anchor("C2S", c2s);
            anchor("S2C", s2c);
            anchor("0", 0);
            fd[Role.FRESH.ordinal()] = k.socket(AF_INET, SOCK_STREAM, 0);
            fd[Role.RESTORE.ordinal()] = k.socket(AF_INET, SOCK_STREAM, 0);
        }

        /**
         * A loopback address of its own for each world's client (127.0.0.0/8 is all loopback): sockets that earlier
         * programs closed stay in FIN_WAIT2 or TIME_WAIT for a minute on the real kernel, holding their ports, and an
         * ephemeral port of 127.0.0.1 may be one of them, which a bind to the client's address would then meet
         * (EADDRINUSE, seen in the guest) where the model, fresh for each program, has none.
         */
        private static InetAddress nextClientHost() {
            int n = CLIENT_HOSTS.getAndIncrement() % (250 * 250);
            return InetAddress.ofLiteral("127.1." + (1 + n / 250) + "." + (1 + n % 250));
        }

        private int accept() throws KernelException {
            for (int i = 0; ; i++) {
                try {
                    return k.accept(fd(Role.LISTENER));
                } catch (KernelException e) {
                    if (!e.is(dev.kdirect.Errno.EAGAIN) || i > 1000) {
                        throw e;
                    }
                    Thread.onSpinWait();
                }
            }
        }

        private int sequence(int socket, int queue) throws KernelException {
            setInt(socket, SocketConstants.TCP_REPAIR, SocketConstants.TCP_REPAIR_ON);
            setInt(socket, SocketConstants.TCP_REPAIR_QUEUE, queue);
            int seq = getInt(socket, SocketConstants.TCP_QUEUE_SEQ);
            setInt(socket, SocketConstants.TCP_REPAIR_QUEUE, SocketConstants.TCP_NO_QUEUE);
            setInt(socket, SocketConstants.TCP_REPAIR, SocketConstants.TCP_REPAIR_OFF_NO_WP);
            return seq;
        }

        private static boolean far(int a, int b) {
            return Math.abs((long) (a - b)) > 4L * ANCHOR_RANGE;
        }

        void anchor(String name, int value) {
            anchors.add(value);
            anchorNames.add(name);
        }

        int fd(Role role) {
            return fd[role.ordinal()];
        }

        int base(Base base) {
            return switch (base) {
                case ZERO -> 0;
                case C2S -> c2s;
                case S2C -> s2c;
            };
        }

        /** Whether {@code role}'s socket is in repair mode (the listener never is: TCP_REPAIR on it is EPERM). */
        boolean inRepair(Role role) throws KernelException {
            return role != Role.LISTENER && getInt(fd(role), SocketConstants.TCP_REPAIR) == 1;
        }

        /** A sequence number of {@code role}'s as both kernels print it (see {@link #clockSequence}). */
        String seq(Role role, int value) {
            return clockSequence[role.ordinal()] ? "from the ISN clock" : seq(value);
        }

        /** A sequence number as both kernels print it: relative to the first anchor near it. */
        String seq(int value) {
            for (int i = 0; i < anchors.size(); i++) {
                int d = value - anchors.get(i);
                if (Math.abs(d) <= ANCHOR_RANGE) {
                    return anchorNames.get(i) + (d >= 0 ? "+" : "") + d;
                }
            }
            return "unanchored";
        }

        void setInt(int socket, int option, int value) throws KernelException {
            MemorySegment v = arena.allocate(JAVA_INT);
            v.set(JAVA_INT, 0, value);
            k.setsockopt(socket, SOL_TCP, option, v);
        }

        int getInt(int socket, int option) throws KernelException {
            MemorySegment v = arena.allocate(JAVA_INT);
            k.getsockopt(socket, SOL_TCP, option, v);
            return v.get(JAVA_INT, 0);
        }

        /**
         * On the real kernel, the ACKs its delayed-ACK timer holds (up to 40 ms on loopback, once a socket answers
         * data with data) are sent now, with TCP_QUICKACK on every socket: the model acknowledges at once, as the
         * kernel does once its timers ran (docs/tcprepair.md), so both are compared after the timers.
         */
        void settle() throws KernelException {
            if (k.binding() == Binding.SIMULATED) {
                return;
            }
            for (Role role : Role.values()) {
                if (role != Role.LISTENER && fd(role) >= 0 && connected[role.ordinal()]) {
                    setInt(fd(role), SocketConstants.TCP_QUICKACK, 1);
                }
            }
        }

        /** Why a step cannot use {@code role} now (printed the same on both kernels), or null. */
        String unusable(Role role) {
            if (fd(role) < 0) {
                return "no socket";
            }
            Role by = orphanedBy[role.ordinal()];
            return by == null ? null : "peer detached by " + by;
        }

        /** What {@code call} returns, where {@code role}'s socket is usable; else why it is not. */
        String ifUsable(Role role, Callable<String> call) throws Exception {
            String no = unusable(role);
            return no != null ? no : call.call();
        }

        /** The role a connection of {@code role} talks to, or null. */
        Role peerOf(Role role) {
            return switch (role) {
                case CLIENT, RESTORE -> Role.SERVER;
                case SERVER -> fd(Role.CLIENT) >= 0 ? Role.CLIENT : Role.RESTORE;
                case FRESH -> Role.ACCEPTED;
                case ACCEPTED -> Role.FRESH;
                default -> null;
            };
        }

        @Override
        public void close() {
            for (int i = 0; i < fd.length; i++) {
                if (fd[i] >= 0) {
                    closeQuietly(fd[i]);
                }
            }
            if (sink >= 0) {
                closeQuietly(sink);
            }
            arena.close();
        }

        private void closeQuietly(int socket) {
            try {
                k.close(socket); // all of the world's sockets close together: what a repair-mode close leaves is unseen
            } catch (KernelException e) {
                throw new IllegalStateException(e);
            } catch (UnsupportedOperationException e) {
                // the model cannot tell what the peer would see of this close; the program's steps are compared
                // already, and the peer closes next
            }
        }

        /**
         * On the real kernel, waits (up to half a second) until the peer acknowledged every byte {@code role} sent:
         * its delayed ACK is one TCP_QUICKACK does not force out (tcp_cleanup_rbuf sends none while unread bytes are
         * queued, and a connection with data both ways delays it on a timer: up to TCP_DELACK_MAX, 200 ms), and
         * Nagle's rule holds a short segment until then; the model acknowledges at once. Only where the peer is a
         * socket of this world (it acknowledges in repair mode too) and {@code role} queued nothing in repair mode
         * (such bytes count as sent and never go).
         */
        void awaitAcknowledgement(Role role) throws Exception {
            if (talksToThisWorld(role) && !queuedInRepair[role.ordinal()]) {
                awaitZero(role, SocketConstants.SIOCOUTQ);
            }
        }

        /**
         * On the real kernel, before {@code reader} reads: waits (up to half a second) until its peer sent every
         * byte it queued, which Nagle's rule may hold until the reader's delayed ACK (see awaitAcknowledgement).
         */
        void awaitDelivery(Role reader) throws Exception {
            Role peer = peerOf(reader);
            if (peer != null && talksToThisWorld(peer) && peerOf(peer) == reader) {
                awaitZero(peer, SocketConstants.SIOCOUTQNSD);
            }
        }

        private boolean talksToThisWorld(Role role) {
            Role peer = peerOf(role);
            return k.binding() != Binding.SIMULATED && connected[role.ordinal()] && livePeer[role.ordinal()]
                    && peer != null && fd(peer) >= 0 && unusable(role) == null;
        }

        private void awaitZero(Role role, int request) throws Exception {
            long deadline = System.nanoTime() + 500_000_000L;
            try {
                while (ioctl(fd(role), request) > 0 && System.nanoTime() < deadline) {
                    Thread.sleep(2);
                }
            } catch (KernelException e) {
                // a queue "length" the binding read as an errno (write_seq set below snd_una): nothing to wait for
            }
        }

        /** ioctl of a queue length, which (before a connect, write_seq set) may be a sequence number below 0. */
        int ioctl(int socket, int request) throws KernelException {
            try {
                return k.ioctlInt(socket, request);
            } catch (KernelException e) {
                if (e.errno() < 4096) {
                    throw e;
                }
                return -e.errno(); // a negative answer the binding took for an errno
            }
        }
    }

    /**
     * Where the kernel acts on a timer and the model at the next event (docs/tcprepair.md: the model has no timers,
     * it does at once what the timers would), the program is not compared past that point:
     * <ul>
     * <li>bytes sent in repair mode count as sent and arm the loss probe and retransmission timers
     * (tcp_write_xmit: tcp_event_new_data_sent, tcp_schedule_loss_probe), which fire in repair mode too: the probe
     * within milliseconds on a socket with an RTT estimate (srtt / 4 plus 2 jiffies: seen in the guest, where it
     * sent the bytes and so made TCP_REPAIR_OPTIONS EPERM), after TCP_TIMEOUT_INIT (1 s) on one restored without
     * any; the former is not compared past that send, the latter not past 400 ms after it;
     * <li>when such a socket, or one restored by a repair-mode connect to a live peer, leaves repair mode, the
     * kernel sends its queued bytes on that timer and new ones once the peer's window reached it (the zero window of
     * a repair connect is opened by the peer's answer to the window probe, or by the persist timer's probe); the
     * model sends them at once;
     * <li>after a TCP_TIMESTAMP set on a connection with a live peer, whether the peer's PAWS check (tcp_paws_check)
     * drops what the socket sends next depends on the timestamp offset each kernel drew at random for the connection
     * (secure_tcp_ts_off); the model follows its own draw (and refuses where PAWS would drop), the comparison stops.
     * </ul>
     */
    @Override
    public String interference(Net realWorld, Step<Net> step) {
        if (realWorld.timersRun != null) {
            return "timers: " + realWorld.timersRun + " with bytes or a window the kernel's timers move";
        }
        if (realWorld.pawsDecides != null) {
            return "PAWS: " + realWorld.pawsDecides + ", compared with a ts_recent from a random offset";
        }
        long armed = realWorld.retransmissionArmed;
        return armed != 0 && System.nanoTime() - armed > RETRANSMISSION_SAFE_NANOS
                ? "a retransmission timer may have fired" : null;
    }

    // ---- the steps

    /** setsockopt(TCP_REPAIR, value). */
    public record Repair(Role role, int value) implements Step<Net> {
        @Override
        public String apply(Net w) throws Exception {
            return w.ifUsable(role, () -> {
                w.setInt(w.fd(role), SocketConstants.TCP_REPAIR, value);
                if (value != SocketConstants.TCP_REPAIR_ON && w.timerBound[role.ordinal()]) {
                    w.timersRun = role + " left repair mode";
                }
                if (value != SocketConstants.TCP_REPAIR_ON && w.connected[role.ordinal()]) {
                    w.shaped[role.ordinal()] = true; // a window probe, and what it sends from now on
                }
                return "ok";
            });
        }
    }

    /** setsockopt(TCP_REPAIR_QUEUE, value). */
    public record RepairQueue(Role role, int value) implements Step<Net> {
        @Override
        public String apply(Net w) throws Exception {
            return w.ifUsable(role, () -> {
                w.setInt(w.fd(role), SocketConstants.TCP_REPAIR_QUEUE, value);
                return "ok";
            });
        }
    }

    /** setsockopt(TCP_QUEUE_SEQ, base + delta). */
    public record SetQueueSeq(Role role, Base base, int delta) implements Step<Net> {
        @Override
        public String apply(Net w) throws Exception {
            return w.ifUsable(role, () -> {
                w.setInt(w.fd(role), SocketConstants.TCP_QUEUE_SEQ, w.base(base) + delta);
                return "ok";
            });
        }
    }

    /** getsockopt of an int TCP option: TCP_REPAIR, TCP_REPAIR_QUEUE, TCP_QUEUE_SEQ (as a sequence), TCP_MAXSEG. */
    public record GetOption(Role role, int option) implements Step<Net> {
        @Override
        public String apply(Net w) throws Exception {
            return w.ifUsable(role, () -> {
                int value = w.getInt(w.fd(role), option);
                return option != SocketConstants.TCP_QUEUE_SEQ ? Integer.toString(value) : w.seq(role, value);
            });
        }
    }

    /**
     * setsockopt(TCP_REPAIR_OPTIONS) with these entries, passed in {@code length} bytes (whole entries, fewer, or
     * a part of one).
     */
    public record RepairOptions(Role role, int[] codes, int[] values, int length) implements Step<Net> {
        @Override
        public String apply(Net w) throws Exception {
            return w.ifUsable(role, () -> {
                MemorySegment options = w.arena.allocate(Math.max(8L * codes.length, length) + 1);
                for (int i = 0; i < codes.length; i++) {
                    MemorySegment entry = options.asSlice(8L * i, 8);
                    TcpStructs.OPT_CODE.set(entry, codes[i]);
                    TcpStructs.OPT_VAL.set(entry, values[i]);
                }
                w.k.setsockopt(w.fd(role), SOL_TCP, SocketConstants.TCP_REPAIR_OPTIONS, options.asSlice(0, length));
                return "ok";
            });
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof RepairOptions r && r.role == role && java.util.Arrays.equals(r.codes, codes)
                    && java.util.Arrays.equals(r.values, values) && r.length == length;
        }

        @Override
        public int hashCode() {
            return java.util.Objects.hash(role, java.util.Arrays.hashCode(codes), java.util.Arrays.hashCode(values),
                    length);
        }

        @Override
        public String toString() {
            return java();
        }
    }

    /** getsockopt(TCP_REPAIR_WINDOW) into {@code length} bytes; the sequence fields relative to the anchors. */
    public record GetWindow(Role role, int length) implements Step<Net> {
        @Override
        public String apply(Net w) throws Exception {
            return w.ifUsable(role, () -> {
                w.settle(); // what it reads moves with the peer's delayed ACK
                MemorySegment window = w.arena.allocate(Math.max(length, TcpStructs.REPAIR_WINDOW.byteSize()));
                int n = w.k.getsockopt(w.fd(role), SOL_TCP, SocketConstants.TCP_REPAIR_WINDOW,
                        window.asSlice(0, length));
                return "len=" + n + (w.shaped[role.ordinal()] ? " (window from traffic)" : " " + window(w, window));
            });
        }
    }

    static String window(Net w, MemorySegment window) {
        return "wl1=" + w.seq((int) TcpStructs.WINDOW_SND_WL1.get(window))
                + " snd_wnd=" + TcpStructs.WINDOW_SND_WND.get(window)
                + " max_window=" + TcpStructs.WINDOW_MAX_WINDOW.get(window)
                + " rcv_wnd=" + TcpStructs.WINDOW_RCV_WND.get(window)
                + " wup=" + w.seq((int) TcpStructs.WINDOW_RCV_WUP.get(window));
    }

    /**
     * setsockopt(TCP_REPAIR_WINDOW) in {@code length} bytes: snd_wl1 and rcv_wup as rcv_nxt + delta (the kernel checks
     * them against rcv_nxt; read through TCP_REPAIR_QUEUE and TCP_QUEUE_SEQ in repair mode, the selected queue put
     * back after), the sizes as given.
     */
    public record SetWindow(Role role, int length, int wl1, int sndWnd, int maxWindow, int rcvWnd, int wup)
            implements Step<Net> {
        @Override
        public String apply(Net w) throws Exception {
            return w.ifUsable(role, () -> {
                int socket = w.fd(role);
                int rcvNxt = 0;
                if (w.inRepair(role)) {
                    int queue = w.getInt(socket, SocketConstants.TCP_REPAIR_QUEUE);
                    w.setInt(socket, SocketConstants.TCP_REPAIR_QUEUE, SocketConstants.TCP_RECV_QUEUE);
                    rcvNxt = w.getInt(socket, SocketConstants.TCP_QUEUE_SEQ);
                    w.setInt(socket, SocketConstants.TCP_REPAIR_QUEUE, queue);
                }
                MemorySegment window = w.arena.allocate(Math.max(length, TcpStructs.REPAIR_WINDOW.byteSize()));
                TcpStructs.repairWindow(java.lang.foreign.SegmentAllocator.prefixAllocator(window), rcvNxt + wl1,
                        sndWnd, maxWindow, rcvWnd, rcvNxt + wup);
                w.k.setsockopt(socket, SOL_TCP, SocketConstants.TCP_REPAIR_WINDOW, window.asSlice(0, length));
                return "ok";
            });
        }
    }

    /** setsockopt(TCP_TIMESTAMP, value). */
    public record SetTimestamp(Role role, int value) implements Step<Net> {
        @Override
        public String apply(Net w) throws Exception {
            return w.ifUsable(role, () -> {
                w.setInt(w.fd(role), SocketConstants.TCP_TIMESTAMP, value);
                w.timestampSet[role.ordinal()] = value;
                if (w.connected[role.ordinal()] && w.livePeer[role.ordinal()] && w.pawsDecides == null) {
                    w.pawsDecides = role + " set TCP_TIMESTAMP on a live connection";
                }
                return "ok";
            });
        }
    }

    /**
     * getsockopt(TCP_TIMESTAMP): relative to the value last set (a clock tick count since then, not compared), and
     * its low bit where the kernel defines it (since 6.7, the microsecond flag).
     */
    public record GetTimestamp(Role role) implements Step<Net> {
        @Override
        public String apply(Net w) throws Exception {
            return w.ifUsable(role, () -> {
                int value = w.getInt(w.fd(role), SocketConstants.TCP_TIMESTAMP);
                Integer set = w.timestampSet[role.ordinal()];
                String since = set == null ? "never set"
                        : Integer.compareUnsigned(value - set, 600_000_000) < 0 ? "set + elapsed"
                        : "not after the set value";
                return since + (KernelRelease.running().atLeast(6, 7) ? ", usec bit " + (value & 1) : "");
            });
        }
    }

    /** send(MSG_DONTWAIT | MSG_NOSIGNAL) of {@code length} bytes drawn from {@code seed}. */
    public record Send(Role role, int length, int seed) implements Step<Net> {
        @Override
        public String apply(Net w) throws Exception {
            return w.ifUsable(role, () -> {
                byte[] data = new byte[length];
                new Random(seed).nextBytes(data);
                MemorySegment buffer = w.arena.allocate(Math.max(1, length));
                MemorySegment.copy(data, 0, buffer, JAVA_BYTE, 0, length);
                boolean repair = w.inRepair(role);
                long sent = w.k.send(w.fd(role), buffer.asSlice(0, length), MSG_DONTWAIT | MSG_NOSIGNAL);
                if (w.connected[role.ordinal()]) {
                    w.shaped[role.ordinal()] = true;
                    if (repair && sent > 0 && w.getInt(w.fd(role),
                            SocketConstants.TCP_REPAIR_QUEUE) == SocketConstants.TCP_SEND_QUEUE) {
                        // towards the sink too: a retransmission there is dropped, yet counts in bytes_sent
                        w.timerBound[role.ordinal()] |= w.livePeer[role.ordinal()];
                        w.queuedInRepair[role.ordinal()] = true;
                        if (w.rttKnown[role.ordinal()] && w.livePeer[role.ordinal()]) {
                            w.timersRun = role + " queued bytes in repair mode, which its tail loss probe sends within"
                                    + " milliseconds";
                        } else if (w.retransmissionArmed == 0) {
                            w.retransmissionArmed = System.nanoTime();
                        }
                    }
                }
                return Long.toString(sent);
            });
        }
    }

    /** recv(MSG_DONTWAIT, with or without MSG_PEEK) into {@code length} bytes: the count and the bytes. */
    public record Recv(Role role, int length, boolean peek) implements Step<Net> {
        @Override
        public String apply(Net w) throws Exception {
            return w.ifUsable(role, () -> {
                w.settle(); // what it reads moves with the peer's delayed ACK
                boolean repair = w.inRepair(role);
                int queue = repair ? w.getInt(w.fd(role), SocketConstants.TCP_REPAIR_QUEUE)
                        : SocketConstants.TCP_NO_QUEUE;
                if (queue == SocketConstants.TCP_SEND_QUEUE) {
                    w.awaitAcknowledgement(role); // a peek of the send queue: what is unacknowledged
                } else {
                    w.awaitDelivery(role);
                }
                MemorySegment buffer = w.arena.allocate(Math.max(1, length));
                long n = w.k.recv(w.fd(role), buffer.asSlice(0, length), MSG_DONTWAIT | (peek ? MSG_PEEK : 0));
                byte[] got = buffer.asSlice(0, Math.min(n, length)).toArray(JAVA_BYTE);
                return n + " " + HexFormat.of().formatHex(got);
            });
        }
    }

    /** ioctl SIOCINQ, SIOCOUTQ or SIOCOUTQNSD. */
    public record Ioctl(Role role, int request) implements Step<Net> {
        @Override
        public String apply(Net w) throws Exception {
            return w.ifUsable(role, () -> {
                w.settle(); // what it reads moves with the peer's delayed ACK
                if (request == SocketConstants.SIOCOUTQ || request == SocketConstants.SIOCOUTQNSD) {
                    w.awaitAcknowledgement(role);
                }
                int value = w.ioctl(w.fd(role), request);
                // a queue length, or (before connect) write_seq - snd_una with write_seq set: a sequence number
                return Math.abs(value) < ANCHOR_RANGE ? Integer.toString(value) : "seq " + w.seq(role, value);
            });
        }
    }

    /**
     * getsockopt(TCP_INFO) into {@code length} bytes: the length copied, tcpi_state, tcpi_options and the window
     * scales where copied (the bytes between move with timers).
     */
    public record Info(Role role, int length) implements Step<Net> {
        @Override
        public String apply(Net w) throws Exception {
            return w.ifUsable(role, () -> {
                MemorySegment info = w.arena.allocate(Math.max(length, TcpStructs.INFO_SIZE));
                int n = w.k.getsockopt(w.fd(role), SOL_TCP, SocketConstants.TCP_INFO, info.asSlice(0, length));
                StringBuilder s = new StringBuilder("len=" + n);
                if (n > 0) {
                    s.append(" state=").append(info.get(JAVA_BYTE, 0));
                }
                if (n > 5) {
                    s.append(" options=").append(info.get(JAVA_BYTE, 5));
                }
                if (n > 6) {
                    s.append(" wscales=").append(info.get(JAVA_BYTE, 6) & 0xff);
                }
                return s.toString();
            });
        }
    }

    /** Where a bind or connect goes. */
    public enum Target { LOOPBACK, LISTENER, SINK, CLIENT_ADDRESS }

    /** bind(2) to 127.0.0.1:0, or to the listener's, the sink's or the client's address. */
    public record Bind(Role role, Target target) implements Step<Net> {
        @Override
        public String apply(Net w) throws Exception {
            return w.ifUsable(role, () -> {
                InetSocketAddress address = switch (target) {
                    case LOOPBACK -> new InetSocketAddress(InetAddress.ofLiteral("127.0.0.1"), 0);
                    case LISTENER -> w.listenerAddress;
                    case SINK -> w.sinkAddress;
                    case CLIENT_ADDRESS -> w.clientAddress;
                };
                w.k.bind(w.fd(role), address);
                w.boundToClient[role.ordinal()] = target == Target.CLIENT_ADDRESS;
                return "ok";
            });
        }
    }

    /**
     * connect(2): outside repair mode to the listener (or to the sink's address when it does not listen: the sink
     * always listens, so that is never); in repair mode to the sink, or to the server when bound to the client's
     * address (the restore). Other combinations are left out (see the class comment) and print why.
     */
    public record Connect(Role role, Target target) implements Step<Net> {
        @Override
        public String apply(Net w) throws Exception {
            return w.ifUsable(role, () -> {
                boolean repair = w.inRepair(role);
                InetSocketAddress address;
                if (!repair && target == Target.LISTENER) {
                    address = w.listenerAddress;
                } else if (repair && target == Target.SINK) {
                    address = w.sinkAddress;
                } else if (repair && target == Target.LISTENER && w.boundToClient[role.ordinal()]) {
                    address = w.listenerAddress;
                } else {
                    return "left out: repair " + repair + " to " + target;
                }
                try {
                    w.k.connect(w.fd(role), address);
                } finally {
                    if (!repair) {
                        // a connect outside repair mode draws a new timestamp offset (tcp_v4_connect): random
                        w.timestampSet[role.ordinal()] = null;
                        w.clockSequence[role.ordinal()] |= w.boundToClient[role.ordinal()];
                    }
                    w.connected[role.ordinal()] = true;
                    w.shaped[role.ordinal()] |= address == w.listenerAddress;
                    w.livePeer[role.ordinal()] |= address == w.listenerAddress;
                    w.timerBound[role.ordinal()] |= repair && address == w.listenerAddress;
                    w.rttKnown[role.ordinal()] |= !repair;
                }
                if (repair && address == w.listenerAddress) {
                    w.orphanedBy[Role.SERVER.ordinal()] = null; // the restore holds the client's 4-tuple again
                }
                return "ok";
            });
        }
    }

    /** listen(2). */
    public record Listen(Role role) implements Step<Net> {
        @Override
        public String apply(Net w) throws Exception {
            return w.ifUsable(role, () -> {
                w.k.listen(w.fd(role), 16);
                return "ok";
            });
        }
    }

    /** accept(2) on the (non-blocking) listener, into ACCEPTED (closing what was there). */
    public record Accept() implements Step<Net> {
        @Override
        public String apply(Net w) throws Exception {
            int accepted = w.k.accept(w.fd(Role.LISTENER));
            if (w.fd(Role.ACCEPTED) >= 0) {
                w.k.close(w.fd(Role.ACCEPTED));
            }
            w.fd[Role.ACCEPTED.ordinal()] = accepted;
            w.connected[Role.ACCEPTED.ordinal()] = w.shaped[Role.ACCEPTED.ordinal()] = true;
            w.livePeer[Role.ACCEPTED.ordinal()] = w.rttKnown[Role.ACCEPTED.ordinal()] = true;
            return "ok";
        }
    }

    /**
     * close(2). A socket closed in repair mode sends nothing: its peer is set aside (see the class comment) until a
     * restore takes the 4-tuple again.
     */
    public record Close(Role role) implements Step<Net> {
        @Override
        public String apply(Net w) throws Exception {
            return w.ifUsable(role, () -> {
                boolean repair = w.inRepair(role);
                int socket = w.fd(role);
                w.fd[role.ordinal()] = -1; // gone whatever close answers (close(2) frees the descriptor first)
                w.k.close(socket);
                Role peer = w.peerOf(role);
                if (repair && peer != null) {
                    w.orphanedBy[peer.ordinal()] = role;
                }
                return "ok repair=" + repair;
            });
        }
    }

    // ---- programs

    @Override
    public List<Step<Net>> program(Random random) {
        // the harness seeds program i with seed * K + i: java.util.Random's first draws of such neighbouring seeds
        // are nearly equal (the high bits of the LCG state move slowly), so the program draws from a mixed seed
        Random r = new Random(new java.util.SplittableRandom(random.nextLong()).nextLong());
        List<Step<Net>> steps = new ArrayList<>();
        // half the programs begin as a dump, a detach or a restore would, each step kept with a probability, so
        // that the rules of the later steps of those sequences are reached; the rest is random
        switch (r.nextInt(4)) {
            case 0 -> dump(r, steps, r.nextBoolean() ? Role.CLIENT : Role.SERVER);
            case 1 -> restore(r, steps, r.nextBoolean());
            default -> { }
        }
        int length = 4 + r.nextInt(24);
        Role previous = role(r);
        for (int i = 0; i < length; i++) {
            Role role = r.nextBoolean() ? previous : role(r);
            steps.add(step(r, role));
            previous = role;
        }
        return steps;
    }

    /** The steps of a checkpoint (CRIU libsoccr's order), some left out. */
    private static void dump(Random r, List<Step<Net>> steps, Role role) {
        maybe(r, steps, new Repair(role, SocketConstants.TCP_REPAIR_ON));
        maybe(r, steps, new Info(role, TcpStructs.INFO_SIZE));
        maybe(r, steps, new Ioctl(role, SocketConstants.SIOCOUTQ));
        maybe(r, steps, new Ioctl(role, SocketConstants.SIOCINQ));
        maybe(r, steps, new GetOption(role, SocketConstants.TCP_MAXSEG));
        maybe(r, steps, new GetTimestamp(role));
        maybe(r, steps, new GetWindow(role, SocketConstants.TCP_REPAIR_WINDOW_SIZE));
        for (int queue : new int[] {SocketConstants.TCP_SEND_QUEUE, SocketConstants.TCP_RECV_QUEUE}) {
            maybe(r, steps, new RepairQueue(role, queue));
            maybe(r, steps, new GetOption(role, SocketConstants.TCP_QUEUE_SEQ));
            maybe(r, steps, new Recv(role, r.nextInt(2000), true));
        }
        if (r.nextBoolean()) {
            steps.add(new Close(role)); // a detach
            if (r.nextBoolean()) {
                restore(r, steps, true);
            }
        } else {
            maybe(r, steps, new Repair(role, r.nextBoolean() ? 0 : -1));
        }
    }

    /** The steps of a restore, some left out: over the client's address to the server, or to the sink. */
    private static void restore(Random r, List<Step<Net>> steps, boolean overClient) {
        Role role = Role.RESTORE;
        maybe(r, steps, new Repair(role, SocketConstants.TCP_REPAIR_ON));
        maybe(r, steps, new Bind(role, overClient ? Target.CLIENT_ADDRESS : Target.LOOPBACK));
        for (int queue : new int[] {SocketConstants.TCP_RECV_QUEUE, SocketConstants.TCP_SEND_QUEUE}) {
            maybe(r, steps, new RepairQueue(role, queue));
            Base base = queue == SocketConstants.TCP_SEND_QUEUE ? Base.C2S : Base.S2C;
            maybe(r, steps, new SetQueueSeq(role, r.nextInt(4) == 0 ? Base.values()[r.nextInt(3)] : base,
                    r.nextInt(3) == 0 ? r.nextInt(200) - 100 : 0));
        }
        maybe(r, steps, new Connect(role, overClient ? Target.LISTENER : Target.SINK));
        if (r.nextBoolean()) {
            steps.add(repairOptions(r, role));
        }
        maybe(r, steps, new SetTimestamp(role, r.nextInt()));
        maybe(r, steps, new RepairQueue(role, SocketConstants.TCP_RECV_QUEUE));
        maybe(r, steps, new Send(role, r.nextInt(1500), r.nextInt()));
        maybe(r, steps, new RepairQueue(role, SocketConstants.TCP_SEND_QUEUE));
        maybe(r, steps, new Send(role, r.nextInt(1500), r.nextInt()));
        maybe(r, steps, new SetWindow(role, SocketConstants.TCP_REPAIR_WINDOW_SIZE, r.nextInt(140_000) - 2000,
                window(r), window(r), window(r), r.nextInt(4000) - 2000));
        maybe(r, steps, new Repair(role, r.nextBoolean() ? 0 : -1));
    }

    private static void maybe(Random r, List<Step<Net>> steps, Step<Net> step) {
        if (r.nextInt(8) != 0) {
            steps.add(step);
        }
    }

    private static Role role(Random r) {
        // the sockets repair acts on most: the pair and the restore
        int p = r.nextInt(20);
        return p < 6 ? Role.CLIENT : p < 11 ? Role.SERVER : p < 16 ? Role.RESTORE : p < 18 ? Role.FRESH
                : p < 19 ? Role.ACCEPTED : Role.LISTENER;
    }

    private static int oneOf(Random r, int... values) {
        return values[r.nextInt(values.length)];
    }

    private static Step<Net> step(Random r, Role role) {
        return switch (r.nextInt(22)) {
            case 0, 1, 2 -> new Repair(role, r.nextInt(8) == 0 ? oneOf(r, 2, -2, 3, 255, Integer.MIN_VALUE)
                    : oneOf(r, 1, 1, 0, -1));
            case 3, 4 -> new RepairQueue(role, r.nextInt(8) == 0 ? oneOf(r, 3, -1, 100) : r.nextInt(3));
            case 5 -> new SetQueueSeq(role, Base.values()[r.nextInt(3)], r.nextInt(8) == 0 ? r.nextInt()
                    : r.nextInt(4001) - 2000);
            case 6, 7 -> new GetOption(role, oneOf(r, SocketConstants.TCP_REPAIR, SocketConstants.TCP_REPAIR_QUEUE,
                    SocketConstants.TCP_QUEUE_SEQ, SocketConstants.TCP_QUEUE_SEQ, SocketConstants.TCP_MAXSEG));
            case 8 -> repairOptions(r, role);
            case 9 -> new GetWindow(role, r.nextInt(6) == 0 ? oneOf(r, 0, 4, 16, 24) : 20);
            case 10, 11, 12 -> new SetWindow(role, r.nextInt(8) == 0 ? oneOf(r, 0, 4, 16, 24) : 20,
                    r.nextInt(4) == 0 ? r.nextInt() : r.nextInt(300_000) - 2000, window(r), window(r), window(r),
                    r.nextInt(4) == 0 ? r.nextInt() : r.nextInt(4000) - 2000);
            case 13 -> new SetTimestamp(role, r.nextInt());
            case 14 -> new GetTimestamp(role);
            case 15, 16 -> new Send(role, r.nextInt(6) == 0 ? 0 : 1 + r.nextInt(r.nextBoolean() ? 64 : 1500),
                    r.nextInt());
            case 17 -> new Recv(role, r.nextInt(6) == 0 ? 0 : 1 + r.nextInt(r.nextBoolean() ? 64 : 3000),
                    r.nextBoolean());
            case 18 -> new Ioctl(role, oneOf(r, SocketConstants.SIOCINQ, SocketConstants.SIOCOUTQ,
                    SocketConstants.SIOCOUTQNSD));
            case 19 -> new Info(role, r.nextInt(4) == 0 ? r.nextInt(9) : TcpStructs.INFO_SIZE);
            case 20 -> switch (r.nextInt(5)) {
                case 0 -> new Bind(role, Target.values()[r.nextInt(Target.values().length)]);
                case 1 -> new Listen(role);
                case 2 -> new Accept();
                default -> new Connect(role, Target.values()[1 + r.nextInt(2)]);
            };
            default -> r.nextInt(3) == 0 ? new Close(role) : new Info(role, TcpStructs.INFO_SIZE);
        };
    }

    private static int window(Random r) {
        return r.nextInt(4) == 0 ? r.nextInt() : r.nextInt(200_000);
    }

    private static Step<Net> repairOptions(Random r, Role role) {
        int n = r.nextInt(5);
        int[] codes = new int[n];
        int[] values = new int[n];
        for (int i = 0; i < n; i++) {
            codes[i] = OPTIONS_CODES[r.nextInt(OPTIONS_CODES.length)];
            values[i] = switch (codes[i]) {
                case SocketConstants.TCPOPT_MAXSEG -> r.nextInt(4) == 0 ? r.nextInt() : 536 + r.nextInt(65000);
                case SocketConstants.TCPOPT_WINDOW -> r.nextInt(4) == 0 ? r.nextInt()
                        : r.nextInt(16) | r.nextInt(16) << 16;
                default -> r.nextInt(4) == 0 ? r.nextInt(3) : 0;
            };
        }
        int length = r.nextInt(5) == 0 ? r.nextInt(8 * n + 1) : 8 * n;
        return new RepairOptions(role, codes, values, length);
    }
}
