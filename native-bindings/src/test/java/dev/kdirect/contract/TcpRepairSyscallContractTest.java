package dev.kdirect.contract;

import static dev.kdirect.SocketConstants.MSG_DONTWAIT;
import static dev.kdirect.SocketConstants.MSG_NOSIGNAL;
import static dev.kdirect.SocketConstants.MSG_PEEK;
import static dev.kdirect.SocketConstants.SIOCINQ;
import static dev.kdirect.SocketConstants.SIOCOUTQ;
import static dev.kdirect.SocketConstants.SIOCOUTQNSD;
import static dev.kdirect.SocketConstants.SOL_SOCKET;
import static dev.kdirect.SocketConstants.SOL_TCP;
import static dev.kdirect.SocketConstants.TCP_NO_QUEUE;
import static dev.kdirect.SocketConstants.TCP_QUEUE_SEQ;
import static dev.kdirect.SocketConstants.TCP_RECV_QUEUE;
import static dev.kdirect.SocketConstants.TCP_REPAIR_OFF;
import static dev.kdirect.SocketConstants.TCP_REPAIR_ON;
import static dev.kdirect.SocketConstants.TCP_REPAIR_OPTIONS;
import static dev.kdirect.SocketConstants.TCP_REPAIR_WINDOW;
import static dev.kdirect.SocketConstants.TCP_SEND_QUEUE;
import static dev.kdirect.contract.ContractKernels.assertErrno;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kdirect.Binding;
import dev.kdirect.Errno;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.SocketConstants;
import dev.kdirect.testing.RequiresRealKernel;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The TCP repair contract at the syscall level: the socket calls a connection needs and every TCP_REPAIR rule, bad
 * input included, give the same results and the same errno on the real kernel through FFM and JNA and on the
 * simulated kernel. The real bindings run where TCP repair is real (root); where it is required and missing they
 * fail. Checkpoint, detach and restore through the tcprepair API are tcprepair's TcpRepairContractTest; what a
 * process without CAP_NET_ADMIN gets is its RepairPermissionTest's.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Binding.class)
@RequiresRealKernel
@Timeout(60) // a lost byte would block a read forever
class TcpRepairSyscallContractTest {
    private static final String V4 = "127.0.0.1";

    @Parameter
    Binding binding;

    Kernel kernel;
    Sockets s;

    @BeforeEach
    void setUp() {
        // a call the model never wakes fails at the deadline
        kernel = TestDeadline.watched(ContractKernels.kernel(binding, Feature.TCP_REPAIR));
        s = new Sockets(kernel);
    }

    @AfterEach
    void tearDown() throws KernelException {
        s.close();
    }

    // ---- the socket calls

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "::1"})
    void aLoopbackConnectionCarriesBytesBothWaysAndCloseIsAnEndOfStream(String host) throws Exception {
        Sockets.Pair p = s.pair(host);
        InetSocketAddress listening = kernel.getsockname(p.listener());
        assertThat(listening.getAddress()).isEqualTo(InetAddress.ofLiteral(host));
        assertThat(listening.getPort()).isPositive();
        assertThat(kernel.getpeername(p.client())).isEqualTo(listening);
        assertThat(kernel.getsockname(p.server())).isEqualTo(listening);
        assertThat(kernel.getpeername(p.server())).isEqualTo(kernel.getsockname(p.client()));

        s.send(p.client(), "ping");
        assertThat(s.read(p.server(), 4)).isEqualTo("ping");
        s.send(p.server(), "pong!");
        s.awaitQueued(p.client(), 5);
        assertThat(kernel.ioctlInt(p.client(), SIOCINQ)).isEqualTo(5);
        assertThat(s.recv(p.client(), 64, MSG_PEEK)).isEqualTo("pong!");
        assertThat(s.recv(p.client(), 2, 0)).isEqualTo("po");
        assertThat(s.read(p.client(), 3)).isEqualTo("ng!");
        assertErrno(Errno.EAGAIN, () -> s.recv(p.client(), 8, MSG_DONTWAIT));

        s.close(p.client());
        assertThat(s.recv(p.server(), 8, 0)).isEmpty(); // FIN: end of stream
    }

    @Test
    void bindConnectAcceptAndNameErrors() throws Exception {
        int listener = s.listener(V4);
        InetSocketAddress address = kernel.getsockname(listener);
        int other = s.tcp(V4);
        assertErrno(Errno.EADDRINUSE, () -> kernel.bind(other, address));
        assertErrno(Errno.EINVAL, () -> kernel.bind(listener, new InetSocketAddress(InetAddress.ofLiteral(V4), 0)));
        assertErrno(Errno.EAFNOSUPPORT, () -> kernel.bind(other, new InetSocketAddress(InetAddress.ofLiteral("::1"), 0)));
        assertErrno(Errno.EADDRNOTAVAIL, () -> kernel.bind(other,
                new InetSocketAddress(InetAddress.ofLiteral("192.0.2.1"), 0))); // TEST-NET-1: not on this host
        assertErrno(Errno.ENOTCONN, () -> kernel.getpeername(other));
        assertErrno(Errno.EINVAL, () -> kernel.accept(other));
        assertErrno(Errno.EISCONN, () -> kernel.connect(listener, address));
        assertErrno(Errno.EINVAL, () -> kernel.ioctlInt(listener, SIOCINQ));
        assertErrno(Errno.ENOTCONN, () -> s.recv(listener, 8, MSG_DONTWAIT));
        assertErrno(Errno.EPIPE, () -> kernel.send(other, s.bytes(1), MSG_NOSIGNAL)); // never connected

        int closedPort = s.listener(V4);
        InetSocketAddress nobody = kernel.getsockname(closedPort);
        s.close(closedPort);
        int refused = s.tcp(V4);
        assertErrno(Errno.ECONNREFUSED, () -> kernel.connect(refused, nobody));

        assertThat(kernel.getsockname(other)).isEqualTo(new InetSocketAddress(InetAddress.ofLiteral("0.0.0.0"), 0));
        assertErrno(Errno.EBADF, () -> kernel.getsockname(9999));
    }

    @Test
    void socketOptionsReadBackAsTheKernelStoresThem() throws Exception {
        int fd = s.tcp(V4);
        s.setInt(fd, SOL_SOCKET, SocketConstants.SO_SNDBUF, 8192);
        assertThat(s.getInt(fd, SOL_SOCKET, SocketConstants.SO_SNDBUF)).isEqualTo(16384); // doubled for overhead
        s.setInt(fd, SOL_SOCKET, SocketConstants.SO_RCVBUF, 8192);
        assertThat(s.getInt(fd, SOL_SOCKET, SocketConstants.SO_RCVBUF)).isEqualTo(16384);
        s.setInt(fd, SOL_SOCKET, SocketConstants.SO_KEEPALIVE, 5);
        assertThat(s.getInt(fd, SOL_SOCKET, SocketConstants.SO_KEEPALIVE)).isEqualTo(1);
        s.setInt(fd, SOL_TCP, SocketConstants.TCP_NODELAY, 1);
        assertThat(s.getInt(fd, SOL_TCP, SocketConstants.TCP_NODELAY)).isEqualTo(1);
        assertThat(s.getInt(fd, SOL_TCP, SocketConstants.TCP_MAXSEG)).isEqualTo(536); // TCP_MSS_DEFAULT
        s.setInt(fd, SOL_TCP, SocketConstants.TCP_MAXSEG, 1000);
        assertThat(s.getInt(fd, SOL_TCP, SocketConstants.TCP_MAXSEG)).isEqualTo(1000);
        assertErrno(Errno.EINVAL, () -> s.setInt(fd, SOL_TCP, SocketConstants.TCP_MAXSEG, 87));
        assertErrno(Errno.EINVAL, () -> s.setInt(fd, SOL_TCP, SocketConstants.TCP_MAXSEG, 32768));
        assertErrno(Errno.EINVAL, () -> kernel.setsockopt(fd, SOL_TCP, SocketConstants.TCP_NODELAY, s.bytes(3)));
        s.setInt(fd, SOL_SOCKET, SocketConstants.SO_SNDBUFFORCE, 5_000_000); // past wmem_max on host and guest
        assertThat(s.getInt(fd, SOL_SOCKET, SocketConstants.SO_SNDBUF)).isEqualTo(10_000_000);
        assertThat(s.tcpInfo(fd).get(JAVA_BYTE, 0)).isEqualTo((byte) SocketConstants.TCP_CLOSE);
        MemorySegment two = s.bytes(2);
        assertThat(kernel.getsockopt(fd, SOL_TCP, SocketConstants.TCP_NODELAY, two)).isEqualTo(2); // min(asked, 4)
    }

    // ---- TCP_REPAIR itself

    @Test
    void repairModeSwitchesAndForcesAddressReuse() throws Exception {
        int fd = s.tcp(V4);
        s.setInt(fd, SOL_SOCKET, SocketConstants.SO_REUSEADDR, 1);
        s.repair(fd, TCP_REPAIR_ON);
        assertThat(s.getInt(fd, SOL_TCP, SocketConstants.TCP_REPAIR)).isEqualTo(1);
        assertThat(s.getInt(fd, SOL_SOCKET, SocketConstants.SO_REUSEADDR)).isEqualTo(2); // SK_FORCE_REUSE
        assertErrno(Errno.EINVAL, () -> s.repair(fd, 2));
        s.repair(fd, SocketConstants.TCP_REPAIR_OFF_NO_WP);
        assertThat(s.getInt(fd, SOL_TCP, SocketConstants.TCP_REPAIR)).isZero();
        assertThat(s.getInt(fd, SOL_SOCKET, SocketConstants.SO_REUSEADDR)).isZero(); // SK_NO_REUSE: the set 1 is gone
    }

    @Test
    void aListeningSocketCannotEnterRepairMode() throws Exception {
        int listener = s.listener(V4);
        assertErrno(Errno.EPERM, () -> s.repair(listener, TCP_REPAIR_ON));
        assertErrno(Errno.EPERM, () -> s.repair(listener, TCP_REPAIR_OFF));
    }

    @Test
    void repairQueueSelection() throws Exception {
        int fd = s.tcp(V4);
        assertErrno(Errno.EPERM, () -> s.queue(fd, TCP_SEND_QUEUE));
        assertErrno(Errno.EINVAL, () -> s.getInt(fd, SOL_TCP, SocketConstants.TCP_REPAIR_QUEUE));
        s.repair(fd, TCP_REPAIR_ON);
        assertThat(s.getInt(fd, SOL_TCP, SocketConstants.TCP_REPAIR_QUEUE)).isEqualTo(TCP_NO_QUEUE);
        assertErrno(Errno.EINVAL, () -> s.queue(fd, 3));
        assertErrno(Errno.EINVAL, () -> s.queue(fd, -1));
        s.queue(fd, TCP_SEND_QUEUE);
        assertThat(s.getInt(fd, SOL_TCP, SocketConstants.TCP_REPAIR_QUEUE)).isEqualTo(TCP_SEND_QUEUE);
    }

    @Test
    void queueSequencesAreSetOnlyBeforeConnectAndOnlyOnASelectedQueue() throws Exception {
        int peer = s.listener(V4);
        int fd = s.tcp(V4);
        assertErrno(Errno.EINVAL, () -> s.setInt(fd, SOL_TCP, TCP_QUEUE_SEQ, 1)); // outside repair: no queue selected
        assertErrno(Errno.EINVAL, () -> s.getInt(fd, SOL_TCP, TCP_QUEUE_SEQ));
        s.repair(fd, TCP_REPAIR_ON);
        assertErrno(Errno.EINVAL, () -> s.setInt(fd, SOL_TCP, TCP_QUEUE_SEQ, 1));
        s.queue(fd, TCP_SEND_QUEUE);
        s.setInt(fd, SOL_TCP, TCP_QUEUE_SEQ, 0x7fff0000);
        assertThat(s.getInt(fd, SOL_TCP, TCP_QUEUE_SEQ)).isEqualTo(0x7fff0000);
        s.queue(fd, TCP_RECV_QUEUE);
        s.setInt(fd, SOL_TCP, TCP_QUEUE_SEQ, 0xfffffff0);
        assertThat(s.getInt(fd, SOL_TCP, TCP_QUEUE_SEQ)).isEqualTo(0xfffffff0);
        kernel.connect(fd, kernel.getsockname(peer)); // repair mode: no SYN, ESTABLISHED at once
        assertThat(s.tcpInfo(fd).get(JAVA_BYTE, 0)).isEqualTo((byte) SocketConstants.TCP_ESTABLISHED);
        assertErrno(Errno.EPERM, () -> s.setInt(fd, SOL_TCP, TCP_QUEUE_SEQ, 5));
        assertThat(s.getInt(fd, SOL_TCP, TCP_QUEUE_SEQ)).isEqualTo(0xfffffff0);
        assertThat(kernel.ioctlInt(fd, SIOCINQ)).isZero();
        assertThat(kernel.ioctlInt(fd, SIOCOUTQ)).isZero();
        assertErrno(Errno.EINVAL, () -> kernel.ioctlInt(peer, SIOCOUTQ)); // nothing reached the listener's queue
    }

    @Test
    void repairOptionsOnlyOnAnEstablishedConnectionThatSentNothing() throws Exception {
        int peer = s.listener(V4);
        int fd = s.tcp(V4);
        MemorySegment good = s.ints(SocketConstants.TCPOPT_MAXSEG, 1400, SocketConstants.TCPOPT_WINDOW, 5 | 9 << 16,
                SocketConstants.TCPOPT_SACK_PERM, 0, SocketConstants.TCPOPT_TIMESTAMP, 0);
        assertErrno(Errno.EINVAL, () -> kernel.setsockopt(fd, SOL_TCP, TCP_REPAIR_OPTIONS, good)); // not in repair
        s.repair(fd, TCP_REPAIR_ON);
        assertErrno(Errno.EPERM, () -> kernel.setsockopt(fd, SOL_TCP, TCP_REPAIR_OPTIONS, good)); // not connected
        kernel.connect(fd, kernel.getsockname(peer));
        assertErrno(Errno.EINVAL, () -> kernel.setsockopt(fd, SOL_TCP, TCP_REPAIR_OPTIONS, s.bytes(3)));
        assertErrno(Errno.EFBIG, () -> kernel.setsockopt(fd, SOL_TCP, TCP_REPAIR_OPTIONS,
                s.ints(SocketConstants.TCPOPT_WINDOW, 15)));
        assertErrno(Errno.EFBIG, () -> kernel.setsockopt(fd, SOL_TCP, TCP_REPAIR_OPTIONS,
                s.ints(SocketConstants.TCPOPT_WINDOW, 15 << 16)));
        assertErrno(Errno.EINVAL, () -> kernel.setsockopt(fd, SOL_TCP, TCP_REPAIR_OPTIONS,
                s.ints(SocketConstants.TCPOPT_SACK_PERM, 1)));
        assertErrno(Errno.EINVAL, () -> kernel.setsockopt(fd, SOL_TCP, TCP_REPAIR_OPTIONS,
                s.ints(SocketConstants.TCPOPT_TIMESTAMP, 1)));
        // whole entries only: 4 bytes hold none, and an unknown code is skipped
        kernel.setsockopt(fd, SOL_TCP, TCP_REPAIR_OPTIONS, s.ints(SocketConstants.TCPOPT_WINDOW));
        kernel.setsockopt(fd, SOL_TCP, TCP_REPAIR_OPTIONS, s.ints(99, 12345));
        assertThat(s.tcpInfo(fd).get(JAVA_BYTE, 5) & 7).isZero();

        kernel.setsockopt(fd, SOL_TCP, TCP_REPAIR_OPTIONS, good);
        MemorySegment info = s.tcpInfo(fd);
        assertThat(info.get(JAVA_BYTE, 5) & 7).isEqualTo(SocketConstants.TCPI_OPT_TIMESTAMPS
                | SocketConstants.TCPI_OPT_SACK | SocketConstants.TCPI_OPT_WSCALE);
        assertThat(info.get(JAVA_BYTE, 6) & 0xff).isEqualTo(5 | 9 << 4);
        assertThat(s.getInt(fd, SOL_TCP, SocketConstants.TCP_MAXSEG)).isEqualTo(1400); // the clamp, in repair mode

        Sockets.Pair live = s.pair(V4);
        s.send(live.client(), "sent");
        s.read(live.server(), 4);
        s.repair(live.client(), TCP_REPAIR_ON);
        assertErrno(Errno.EPERM, () -> kernel.setsockopt(live.client(), SOL_TCP, TCP_REPAIR_OPTIONS, good));
        s.repair(live.client(), TCP_REPAIR_OFF);
    }

    @Test
    void theTimestampClockIsSetOnlyInRepairModeAndRunsOn() throws Exception {
        int fd = s.tcp(V4);
        assertErrno(Errno.EPERM, () -> s.setInt(fd, SOL_TCP, SocketConstants.TCP_TIMESTAMP, 1000));
        s.repair(fd, TCP_REPAIR_ON);
        int base = 0x40000000; // even: on 6.7+ kernels the low bit selects microsecond timestamps
        s.setInt(fd, SOL_TCP, SocketConstants.TCP_TIMESTAMP, base);
        int read = s.getInt(fd, SOL_TCP, SocketConstants.TCP_TIMESTAMP);
        assertThat(read - base).isBetween(0, 10_000); // milliseconds since it was set
    }

    @Test
    void theRepairWindowIsExactlyTwentyBytesAndCheckedAgainstRcvNxt() throws Exception {
        int peer = s.listener(V4);
        int fd = s.tcp(V4);
        assertErrno(Errno.EPERM, () -> kernel.getsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, s.bytes(20)));
        assertErrno(Errno.EINVAL, () -> kernel.getsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, s.bytes(16))); // length first
        assertErrno(Errno.EPERM, () -> kernel.setsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, window(0, 0, 0, 0, 0)));
        s.repair(fd, TCP_REPAIR_ON);
        s.queue(fd, TCP_RECV_QUEUE);
        int rcvNxt = 1_000_000;
        s.setInt(fd, SOL_TCP, TCP_QUEUE_SEQ, rcvNxt);
        kernel.connect(fd, kernel.getsockname(peer));
        assertErrno(Errno.EINVAL, () -> kernel.setsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, s.bytes(16)));
        assertErrno(Errno.EINVAL, () -> kernel.setsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, s.bytes(24)));
        assertErrno(Errno.EINVAL, () -> kernel.setsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW,
                window(rcvNxt, 65535, 65534, 65535, rcvNxt))); // max_window < snd_wnd
        assertErrno(Errno.EINVAL, () -> kernel.setsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW,
                window(rcvNxt + 65536, 65535, 65535, 65535, rcvNxt))); // snd_wl1 after rcv_nxt + rcv_wnd
        assertErrno(Errno.EINVAL, () -> kernel.setsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW,
                window(rcvNxt, 65535, 65535, 65535, rcvNxt + 1))); // rcv_wup after rcv_nxt
        MemorySegment edge = window(rcvNxt + 65535, 1000, 2000, 65535, rcvNxt - 10);
        kernel.setsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, edge);
        MemorySegment back = s.bytes(20);
        assertThat(kernel.getsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, back)).isEqualTo(20);
        assertThat(back.toArray(JAVA_INT)).containsExactly(edge.toArray(JAVA_INT));
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "::1"})
    void aHandshakeLeavesSndWl1AtTheSequenceOfTheSegmentThatSetTheWindow(String host) throws Exception {
        // snd_wl1 is the sequence of the segment that last set the send window (tcp_init_wl, net/ipv4/tcp_input.c,
        // 6.1 and 6.18): the connecting end takes the SYN-ACK's in tcp_rcv_synsent_state_process, the peer's initial
        // sequence, one before rcv_nxt as the SYN counts one; the accepting end takes the final ACK's in
        // tcp_rcv_state_process (TCP_SYN_RECV), which is rcv_nxt.
        Sockets.Pair p = s.pair(host);
        int[] client = repairWindow(p.client());
        int[] server = repairWindow(p.server());
        assertThat(new int[] {client[0] - client[5], server[0] - server[5]})
                .as("snd_wl1 - rcv_nxt of the connecting and the accepting end").containsExactly(-1, 0);
        assertThat(new int[] {client[4] - client[5], server[4] - server[5]}).as("rcv_wup - rcv_nxt")
                .containsExactly(0, 0);
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "::1"})
    void aRepairConnectOffersTheInitialWindowOfTheRoutesMss(String host) throws Exception {
        // tcp_connect_init (net/ipv4/tcp_output.c) runs for a repair connect too: tcp_select_initial_window offers
        // tcp_full_space (half of sk_rcvbuf: 65536 by default) rounded down to a multiple of the route's advmss
        // (loopback: 65495 over IPv4, 65476 over IPv6) when larger, at most U16_MAX; with SO_RCVBUF 2048 (sk_rcvbuf
        // 4096) the space 2048 is under the MSS and offered whole.
        int mss = host.contains(":") ? 65476 : 65495;
        for (int buffer : new int[] {0, 2048}) {
            int peer = s.listener(host);
            int fd = s.tcp(host);
            if (buffer > 0) {
                s.setInt(fd, SOL_SOCKET, SocketConstants.SO_RCVBUF, buffer);
            }
            s.repair(fd, TCP_REPAIR_ON);
            s.queue(fd, TCP_RECV_QUEUE);
            s.setInt(fd, SOL_TCP, TCP_QUEUE_SEQ, 5000);
            s.queue(fd, TCP_NO_QUEUE);
            kernel.connect(fd, kernel.getsockname(peer));
            int[] w = repairWindow(fd);
            assertThat(new int[] {w[0], w[1], w[2], w[3], w[4]})
                    .as("snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup with SO_RCVBUF " + buffer)
                    .containsExactly(0, 0, 0, buffer > 0 ? buffer : mss, 5000);
        }
    }

    /** TCP_REPAIR_WINDOW's five fields and rcv_nxt, read in repair mode (left again, without a window probe, when it was off). */
    private int[] repairWindow(int fd) throws KernelException {
        boolean wasOn = s.getInt(fd, SOL_TCP, SocketConstants.TCP_REPAIR) == TCP_REPAIR_ON;
        s.repair(fd, TCP_REPAIR_ON);
        MemorySegment window = s.bytes(20);
        kernel.getsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, window);
        s.queue(fd, TCP_RECV_QUEUE);
        int rcvNxt = s.getInt(fd, SOL_TCP, TCP_QUEUE_SEQ);
        s.queue(fd, TCP_NO_QUEUE);
        if (!wasOn) {
            s.repair(fd, SocketConstants.TCP_REPAIR_OFF_NO_WP); // no window probe: the peer's state stays
        }
        int[] w = window.toArray(JAVA_INT);
        return new int[] {w[0], w[1], w[2], w[3], w[4], rcvNxt};
    }

    @Test
    void theRepairWindowCountsTheBytesARepairSendQueuedAndAFullReceiveQueueIsEnobufs() throws Exception {
        int peer = s.listener(V4);
        int fd = s.tcp(V4);
        s.setInt(fd, SOL_SOCKET, SocketConstants.SO_RCVBUF, 8192); // locked: sk_rcvbuf stays 16384
        s.repair(fd, TCP_REPAIR_ON);
        s.queue(fd, TCP_RECV_QUEUE);
        int seq = 1_000_000;
        s.setInt(fd, SOL_TCP, TCP_QUEUE_SEQ, seq);
        kernel.connect(fd, kernel.getsockname(peer));
        // tcp_send_rcvq: one skb of at most MAX_SKB_FRAGS (17) pages plus the part of a page beyond them; an empty
        // queue admits it whatever sk_rcvbuf says
        assertThat(kernel.send(fd, s.bytes(100_000), 0)).isEqualTo(17 * 4096 + 100_000 % 4096);
        int rcvNxt = seq + 17 * 4096 + 100_000 % 4096;
        assertThat(s.getInt(fd, SOL_TCP, TCP_QUEUE_SEQ)).isEqualTo(rcvNxt);
        // more bytes queued than sk_rcvbuf: tcp_try_rmem_schedule refuses, with alloc_skb_with_frags' ENOBUFS
        assertErrno(Errno.ENOBUFS, () -> kernel.send(fd, s.bytes(1), 0));
        assertThat(s.getInt(fd, SOL_TCP, TCP_QUEUE_SEQ)).isEqualTo(rcvNxt);
        // tcp_repair_set_window checks snd_wl1 against rcv_nxt + rcv_wnd with rcv_nxt past the queued bytes
        assertErrno(Errno.EINVAL, () -> kernel.setsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW,
                window(rcvNxt + 4097, 1000, 2000, 4096, rcvNxt)));
        assertErrno(Errno.EINVAL, () -> kernel.setsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW,
                window(rcvNxt, 1000, 2000, 4096, rcvNxt + 1))); // rcv_wup after rcv_nxt
        assertErrno(Errno.EINVAL, () -> kernel.setsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW,
                window(rcvNxt + 5000, 1001, 1000, 4096, rcvNxt))); // max_window < snd_wnd comes first
        kernel.setsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, window(rcvNxt + 4096, 1000, 2000, 4096, rcvNxt));
        kernel.setsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW, window(seq + 1, 1000, 2000, 0, seq)); // before rcv_nxt
        // sequence arithmetic is modulo 2^32: a window of 2^31 puts rcv_nxt + rcv_wnd "before" rcv_nxt
        assertErrno(Errno.EINVAL, () -> kernel.setsockopt(fd, SOL_TCP, TCP_REPAIR_WINDOW,
                window(rcvNxt, 1000, 2000, Integer.MIN_VALUE, rcvNxt)));
    }

    @Test
    void aRepairSendToANonEmptyReceiveQueueIsAdmittedOnlyWhereTheModelCanTell() throws Exception {
        int peer = s.listener(V4);
        int fd = s.tcp(V4);
        s.setInt(fd, SOL_SOCKET, SocketConstants.SO_RCVBUF, 8192);
        s.repair(fd, TCP_REPAIR_ON);
        s.queue(fd, TCP_RECV_QUEUE);
        kernel.connect(fd, kernel.getsockname(peer));
        assertThat(kernel.send(fd, s.bytes(100), 0)).isEqualTo(100);
        // a few hundred bytes more in a 16 KiB buffer are admitted on any accounting of truesize
        assertThat(kernel.send(fd, s.bytes(100), 0)).isEqualTo(100);
        if (binding == Binding.SIMULATED) {
            // 4 KiB at a time: the kernel's answer depends on truesize and tcp_collapse (measured on 6.18: the fourth
            // is admitted, the fifth ENOBUFS), which the model does not count: it refuses to guess
            assertThatThrownBy(() -> {
                for (int i = 0; i < 5; i++) {
                    kernel.send(fd, s.bytes(4096), 0);
                }
            }).isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("tcp_try_rmem_schedule");
        }
    }

    @Test
    void closeInRepairModeSendsNothing() throws Exception {
        Sockets.Pair p = s.pair(V4);
        s.repair(p.client(), TCP_REPAIR_ON);
        s.close(p.client());
        assertErrno(Errno.EAGAIN, () -> s.recv(p.server(), 8, MSG_DONTWAIT)); // no FIN (0), no RST (ECONNRESET)
        assertThat(kernel.getpeername(p.server())).isNotNull(); // after a reset it would throw ENOTCONN
    }

    private MemorySegment window(int wl1, int wnd, int max, int rwnd, int wup) {
        return s.ints(wl1, wnd, max, rwnd, wup);
    }
}
