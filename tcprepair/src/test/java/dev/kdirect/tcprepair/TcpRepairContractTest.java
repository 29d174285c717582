package dev.kdirect.tcprepair;

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
import dev.kdirect.contract.ContractKernels;
import dev.kdirect.contract.Sockets;
import dev.kdirect.contract.TestDeadline;
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
 * The TCP repair contract through the tcprepair API: checkpoint, detach and restore by descriptor carry a connection
 * (both queues, sent but unacknowledged bytes, options, window) without the peer noticing, on the real kernel through
 * FFM and JNA and on the simulated kernel alike. The syscall-level rules are native-bindings'
 * TcpRepairSyscallContractTest; what a process without CAP_NET_ADMIN gets is RepairPermissionTest's.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Binding.class)
@RequiresRealKernel
@Timeout(60) // a lost byte would block a read forever
class TcpRepairContractTest {
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

    @Test
    void inRepairModeSendFillsTheSelectedQueueAndRecvOnlyPeeks() throws Exception {
        Sockets.Pair p = s.pair(V4);
        ConnectionState moved = TcpRepair.on(kernel).detach(s.untrack(p.client())); // silently closed
        int fd = s.tcp(V4);
        s.repair(fd, TCP_REPAIR_ON);
        s.queue(fd, TCP_SEND_QUEUE);
        assertErrno(Errno.EPIPE, () -> kernel.send(fd, s.bytes(1), MSG_NOSIGNAL)); // not connected, even in repair
        kernel.bind(fd, moved.local());
        s.setInt(fd, SOL_TCP, TCP_QUEUE_SEQ, moved.sendSequence());
        s.queue(fd, TCP_RECV_QUEUE);
        s.setInt(fd, SOL_TCP, TCP_QUEUE_SEQ, moved.receiveSequence());
        kernel.connect(fd, moved.remote());
        s.queue(fd, TCP_NO_QUEUE);
        assertErrno(Errno.EINVAL, () -> kernel.send(fd, s.bytes(1), MSG_NOSIGNAL));
        assertErrno(Errno.EINVAL, () -> s.recv(fd, 8, MSG_PEEK | MSG_DONTWAIT));
        assertErrno(Errno.EPERM, () -> s.recv(fd, 8, MSG_DONTWAIT));

        s.queue(fd, TCP_SEND_QUEUE);
        s.send(fd, "unacked");
        assertThat(kernel.ioctlInt(fd, SIOCOUTQ)).isEqualTo(7);
        assertThat(kernel.ioctlInt(fd, SIOCOUTQNSD)).isZero(); // counted as sent, yet nothing went out
        assertThat(s.getInt(fd, SOL_TCP, TCP_QUEUE_SEQ)).isEqualTo(moved.sendSequence() + 7);
        assertThat(s.recv(fd, 64, MSG_PEEK | MSG_DONTWAIT)).isEqualTo("unacked");
        MemorySegment three = s.bytes(3);
        assertThat(kernel.recv(fd, three, MSG_PEEK | MSG_DONTWAIT)).isEqualTo(7); // the queue's size (tcp_peek_sndq)
        assertThat(new String(three.toArray(JAVA_BYTE), StandardCharsets.US_ASCII)).isEqualTo("una"); // what fit

        s.queue(fd, TCP_RECV_QUEUE);
        s.send(fd, "as if received");
        assertThat(kernel.ioctlInt(fd, SIOCINQ)).isEqualTo(14);
        assertThat(s.getInt(fd, SOL_TCP, TCP_QUEUE_SEQ)).isEqualTo(moved.receiveSequence() + 14);
        assertThat(s.recv(fd, 64, MSG_PEEK | MSG_DONTWAIT)).isEqualTo("as if received");
        assertThat(kernel.ioctlInt(fd, SIOCINQ)).isEqualTo(14);
        assertErrno(Errno.EAGAIN, () -> s.recv(p.server(), 8, MSG_DONTWAIT)); // the peer got nothing
    }

    // ---- checkpoint, detach, restore by descriptor

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "::1"})
    void bothEndsCheckpointConsistentlyAndKeepWorking(String host) throws Exception {
        TcpRepair repair = TcpRepair.on(kernel);
        Sockets.Pair p = s.pair(host);
        s.setInt(p.client(), SOL_SOCKET, SocketConstants.SO_REUSEADDR, 1);
        s.send(p.server(), "unread bytes from the peer");
        s.awaitQueued(p.client(), 26);

        ConnectionState c = repair.checkpoint(p.client());
        ConnectionState q = repair.checkpoint(p.server());

        assertThat(c.local()).isEqualTo(kernel.getsockname(p.client()));
        assertThat(c.remote()).isEqualTo(kernel.getpeername(p.client()));
        assertThat(c.receiveQueue()).asString(StandardCharsets.US_ASCII).isEqualTo("unread bytes from the peer");
        assertThat(c.sentUnacknowledged()).isEmpty();
        assertThat(c.unsent()).isEmpty();
        BothEnds.assertAgree(c, q);
        assertThat(c.socketOptions().reuseAddress()).isTrue();
        assertThat(s.getInt(p.client(), SOL_SOCKET, SocketConstants.SO_REUSEADDR)).isEqualTo(1); // as before
        assertThat(s.getInt(p.client(), SOL_TCP, SocketConstants.TCP_REPAIR)).isZero();

        assertThat(s.read(p.client(), 26)).isEqualTo("unread bytes from the peer");
        s.send(p.client(), "*");
        assertThat(s.read(p.server(), 1)).isEqualTo("*");
    }

    @Test
    void aDescriptorThatIsNotConnectedIsRefused() throws Exception {
        TcpRepair repair = TcpRepair.on(kernel);
        assertErrno(Errno.ENOTCONN, () -> repair.checkpoint(s.tcp(V4)));
        assertErrno(Errno.ENOTCONN, () -> repair.freeze(s.listener(V4)));
    }

    @Test
    void aHalfClosedConnectionIsRefusedAndLeftAsItWas() throws Exception {
        Sockets.Pair p = s.pair(V4);
        s.close(p.server());
        assertThat(s.recv(p.client(), 8, 0)).isEmpty(); // the FIN: CLOSE_WAIT
        assertThat(s.tcpInfo(p.client()).get(JAVA_BYTE, 0)).isEqualTo((byte) SocketConstants.TCP_CLOSE_WAIT);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> TcpRepair.on(kernel).checkpoint(p.client()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("TCP state 8");
        assertThat(s.getInt(p.client(), SOL_TCP, SocketConstants.TCP_REPAIR)).isZero(); // repair mode left again
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "::1"})
    void aDetachedConnectionIsRestoredWithBothQueuesAndUnacknowledgedBytesAndThePeerNoticesNothing(String host)
            throws Exception {
        TcpRepair repair = TcpRepair.on(kernel);
        Sockets.Pair p = s.pair(host);
        s.send(p.server(), "peer to original");
        s.send(p.client(), "original to peer");
        s.awaitQueued(p.client(), 16);
        s.awaitQueued(p.server(), 16);

        FrozenConnection frozen = repair.freeze(s.untrack(p.client()));
        assertThat(frozen.channel()).isNull();
        ConnectionState detached = frozen.state();
        frozen.release(); // closed in repair mode: nothing sent
        assertThat(s.recv(p.server(), 64, MSG_PEEK | MSG_DONTWAIT)).isEqualTo("original to peer"); // no FIN, no RST

        // The bytes of a segment lost in flight: sent and never acknowledged, the peer never saw them.
        byte[] lost = "lost in flight".getBytes(StandardCharsets.US_ASCII);
        ConnectionState moving = withUnacknowledged(ConnectionImage.read(ConnectionImage.write(detached)), lost);

        int restored = s.track(repair.restoreDescriptor(moving));
        assertThat(kernel.getsockname(restored)).isEqualTo(detached.local());
        assertThat(kernel.getpeername(restored)).isEqualTo(kernel.getsockname(p.server()));
        assertThat(s.read(restored, 16)).isEqualTo("peer to original");
        assertThat(s.read(p.server(), 16)).isEqualTo("original to peer");
        assertThat(s.read(p.server(), lost.length)).isEqualTo("lost in flight"); // retransmitted
        s.send(restored, "after the move");
        assertThat(s.read(p.server(), 14)).isEqualTo("after the move");
        s.send(p.server(), "and back");
        assertThat(s.read(restored, 8)).isEqualTo("and back");
        assertErrno(Errno.EAGAIN, () -> s.recv(p.server(), 8, MSG_DONTWAIT));
    }

    @Test
    void aRestoredConnectionHasTheOriginalsSocketOptionsAndWindow() throws Exception {
        TcpRepair repair = TcpRepair.on(kernel);
        // 8 KB buffers and bytes unread on both ends keep the peer's window below the largest it advertised, so
        // max_window tells a window the restore set from one only the peer's answer to the window probe set
        Sockets.Pair p = s.pair(V4, 8192);
        s.send(p.server(), "peer to original");
        s.send(p.client(), "original to peer");
        s.awaitQueued(p.client(), 16);
        s.awaitQueued(p.server(), 16);
        s.setInt(p.client(), SOL_TCP, SocketConstants.TCP_NODELAY, 1); // off in a new socket, as SO_KEEPALIVE
        s.setInt(p.client(), SOL_SOCKET, SocketConstants.SO_KEEPALIVE, 1);
        s.setInt(p.client(), SOL_SOCKET, SocketConstants.SO_REUSEADDR, 1);
        int[] options = socketOptions(p.client());
        ConnectionState detached = repair.detach(s.untrack(p.client()));
        int restored = s.track(repair.restoreDescriptor(detached));
        assertThat(socketOptions(restored)).as("SO_SNDBUF, SO_RCVBUF, SO_REUSEADDR, TCP_NODELAY, SO_KEEPALIVE")
                .containsExactly(options);

        // Relative to rcv_nxt: snd_wl1 and rcv_wup; the peer's window and the largest it advertised as captured; the
        // window this end advertises may only have grown (it leaves repair mode with the restore's larger buffer).
        s.repair(restored, TCP_REPAIR_ON);
        MemorySegment window = s.bytes(20);
        kernel.getsockopt(restored, SOL_TCP, TCP_REPAIR_WINDOW, window);
        s.queue(restored, TCP_RECV_QUEUE);
        int rcvNxt = s.getInt(restored, SOL_TCP, TCP_QUEUE_SEQ);
        s.queue(restored, TCP_NO_QUEUE);
        s.repair(restored, TCP_REPAIR_OFF);
        int[] w = window.toArray(JAVA_INT);
        ConnectionState.RepairWindow captured = detached.window();
        assertThat(rcvNxt).isEqualTo(detached.receiveSequence());
        assertThat(new int[] {w[0] - rcvNxt, w[1], w[2], w[4] - rcvNxt})
                .as("snd_wl1 - rcv_nxt, snd_wnd, max_window, rcv_wup - rcv_nxt")
                .containsExactly(captured.sendWl1() - rcvNxt, captured.sendWindow(), captured.maxWindow(),
                        captured.receiveWup() - rcvNxt);
        assertThat(w[3]).as("rcv_wnd").isGreaterThanOrEqualTo(captured.receiveWindow());
        assertThat(captured.maxWindow()).as("the case this checks").isGreaterThan(captured.sendWindow());

        assertThat(s.read(restored, 16)).isEqualTo("peer to original");
        s.send(restored, "after the move");
        assertThat(s.read(p.server(), 30)).isEqualTo("original to peerafter the move");
    }

    @Test
    void aMegabyteEachWayThroughSmallBuffersArrivesWhole() throws Exception {
        Sockets.Pair p = s.pair(V4, 4096);
        int client = p.client();
        int server = p.server();
        byte[] up = Bulk.pattern(1 << 20, 7);
        byte[] down = Bulk.pattern(1 << 20, 13);
        try (Bulk.Sender a = Bulk.send(kernel, client, up); Bulk.Sender b = Bulk.send(kernel, server, down)) {
            assertThat(Bulk.receive(kernel, server, up.length)).isEqualTo(up);
            assertThat(Bulk.receive(kernel, client, down.length)).isEqualTo(down);
            a.await();
            b.await();
        }
    }

    @Test
    void aConnectionWhosePeerStoppedReadingMovesItsUnsentBytes() throws Exception {
        TcpRepair repair = TcpRepair.on(kernel);
        Sockets.Pair p = s.pair(V4, 8192);
        byte[] stream = Bulk.pattern(1 << 20, 3);
        int queued = Bulk.sendUntilFull(kernel, p.client(), stream);
        int unsent = kernel.ioctlInt(p.client(), SIOCOUTQNSD);
        assertThat(unsent).as("the peer's window is shut: bytes wait unsent").isPositive();

        ConnectionState moved = repair.detach(s.untrack(p.client()));
        assertThat(moved.unsent().length).isEqualTo(unsent);
        int restored = s.track(repair.restoreDescriptor(moved));
        assertThat(kernel.ioctlInt(restored, SIOCOUTQ)).isLessThanOrEqualTo(moved.unsent().length
                + moved.sentUnacknowledged().length);
        assertThat(Bulk.receive(kernel, p.server(), queued)).isEqualTo(java.util.Arrays.copyOf(stream, queued));
        s.send(restored, "more");
        assertThat(s.read(p.server(), 4)).isEqualTo("more");
    }

    @Test
    void restoringOverALiveFourTupleIsRefused() throws Exception {
        TcpRepair repair = TcpRepair.on(kernel);
        Sockets.Pair p = s.pair(V4);
        ConnectionState live = repair.checkpoint(p.client());
        assertErrno(Errno.EADDRNOTAVAIL, () -> repair.restoreDescriptor(live));
        s.send(p.client(), "still fine");
        assertThat(s.read(p.server(), 10)).isEqualTo("still fine");
    }

    private int[] socketOptions(int fd) throws KernelException {
        return new int[] {s.getInt(fd, SOL_SOCKET, SocketConstants.SO_SNDBUF),
            s.getInt(fd, SOL_SOCKET, SocketConstants.SO_RCVBUF), s.getInt(fd, SOL_SOCKET, SocketConstants.SO_REUSEADDR),
            s.getInt(fd, SOL_TCP, SocketConstants.TCP_NODELAY), s.getInt(fd, SOL_SOCKET, SocketConstants.SO_KEEPALIVE)};
    }

    /** The state with {@code lost} appended to the sent-but-unacknowledged bytes, the send sequence after them. */
    private static ConnectionState withUnacknowledged(ConnectionState s, byte[] lost) {
        byte[] sent = s.sentUnacknowledged();
        byte[] all = java.util.Arrays.copyOf(sent, sent.length + lost.length);
        System.arraycopy(lost, 0, all, sent.length, lost.length);
        return new ConnectionState(s.local(), s.remote(), s.sendSequence() + lost.length, s.receiveSequence(),
                s.receiveQueue(), all, s.unsent(), s.options(), s.window(), s.socketOptions());
    }
}
