package dev.kdirect.tcprepair;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The state's own checks at their edges, its equality field by field, and its queues kept as they were given. */
class ConnectionStateTest {
    private static final InetSocketAddress LOCAL = new InetSocketAddress("127.0.0.1", 40123);
    private static final InetSocketAddress REMOTE = new InetSocketAddress("127.0.0.2", 8080);
    private static final ConnectionState.TcpOptions OPTIONS =
            new ConnectionState.TcpOptions(1460, 7, 9, true, true, 5);
    private static final ConnectionState.RepairWindow WINDOW = new ConnectionState.RepairWindow(1, 2, 3, 4, 5);
    private static final ConnectionState.SocketOptions SOCKET =
            new ConnectionState.SocketOptions(1000, 2000, true, true, false);

    private static ConnectionState state(InetSocketAddress local, InetSocketAddress remote, int sendSequence,
            int receiveSequence, byte[] in, byte[] sent, byte[] unsent, ConnectionState.TcpOptions options,
            ConnectionState.RepairWindow window, ConnectionState.SocketOptions socket) {
        return new ConnectionState(local, remote, sendSequence, receiveSequence, in, sent, unsent, options, window,
                socket);
    }

    private static ConnectionState base() {
        return state(LOCAL, REMOTE, 10, 20, new byte[] {1}, new byte[] {2, 3}, new byte[] {4, 5, 6}, OPTIONS, WINDOW,
                SOCKET);
    }

    @Test
    void theMssClampIs16BitsAndTheWindowScalesGoUpTo14() {
        for (int mss : new int[] {0, 0xffff}) {
            assertThat(new ConnectionState.TcpOptions(mss, 0, 14, false, false, 0).mssClamp()).isEqualTo(mss);
        }
        assertThat(new ConnectionState.TcpOptions(1460, 14, 0, false, false, 0).sendWindowScale()).isEqualTo(14);
        for (int mss : new int[] {-1, 0x10000}) {
            assertThatThrownBy(() -> new ConnectionState.TcpOptions(mss, 0, 0, false, false, 0))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("MSS clamp " + mss);
        }
        for (int scale : new int[] {-1, 15}) {
            assertThatThrownBy(() -> new ConnectionState.TcpOptions(1460, scale, 0, false, false, 0))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("send window scale " + scale);
            assertThatThrownBy(() -> new ConnectionState.TcpOptions(1460, 0, scale, false, false, 0))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("receive window scale " + scale);
        }
    }

    @Test
    void bufferSizesMayBeZeroButNotNegative() {
        assertThat(new ConnectionState.SocketOptions(0, 0, false, false, false).sendBuffer()).isZero();
        assertThatThrownBy(() -> new ConnectionState.SocketOptions(-1, 0, false, false, false))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ConnectionState.SocketOptions(0, -1, false, false, false))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void bothAddressesNeedAnIpAddressAndAPort() {
        InetSocketAddress portZero = new InetSocketAddress("127.0.0.1", 0);
        InetSocketAddress unresolved = InetSocketAddress.createUnresolved("localhost", 80);
        for (InetSocketAddress bad : List.of(portZero, unresolved)) {
            assertThatThrownBy(() -> state(bad, REMOTE, 0, 0, new byte[0], new byte[0], new byte[0], OPTIONS, WINDOW,
                    SOCKET)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("the local address");
            assertThatThrownBy(() -> state(LOCAL, bad, 0, 0, new byte[0], new byte[0], new byte[0], OPTIONS, WINDOW,
                    SOCKET)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("the remote address");
        }
    }

    @Test
    void statesAreEqualOnlyWhenEveryFieldIs() {
        ConnectionState s = base();
        assertThat(base()).isEqualTo(s).hasSameHashCodeAs(s);
        byte[] in = {1};
        byte[] sent = {2, 3};
        byte[] unsent = {4, 5, 6};
        byte[] other = {9};
        List<ConnectionState> oneFieldChanged = List.of(
                state(new InetSocketAddress("127.0.0.3", 40123), REMOTE, 10, 20, in, sent, unsent, OPTIONS, WINDOW, SOCKET),
                state(LOCAL, new InetSocketAddress("127.0.0.2", 8081), 10, 20, in, sent, unsent, OPTIONS, WINDOW, SOCKET),
                state(LOCAL, REMOTE, 11, 20, in, sent, unsent, OPTIONS, WINDOW, SOCKET),
                state(LOCAL, REMOTE, 10, 21, in, sent, unsent, OPTIONS, WINDOW, SOCKET),
                state(LOCAL, REMOTE, 10, 20, other, sent, unsent, OPTIONS, WINDOW, SOCKET),
                state(LOCAL, REMOTE, 10, 20, in, other, unsent, OPTIONS, WINDOW, SOCKET),
                state(LOCAL, REMOTE, 10, 20, in, sent, other, OPTIONS, WINDOW, SOCKET),
                state(LOCAL, REMOTE, 10, 20, in, sent, unsent, new ConnectionState.TcpOptions(1460, 7, 9, true, true, 6),
                        WINDOW, SOCKET),
                state(LOCAL, REMOTE, 10, 20, in, sent, unsent, OPTIONS, new ConnectionState.RepairWindow(1, 2, 3, 4, 6),
                        SOCKET),
                state(LOCAL, REMOTE, 10, 20, in, sent, unsent, OPTIONS, WINDOW,
                        new ConnectionState.SocketOptions(1000, 2000, true, true, true)));
        for (ConnectionState changed : oneFieldChanged) {
            assertThat(changed).isNotEqualTo(s);
            assertThat(s).isNotEqualTo(changed);
        }
        assertThat(s).isNotEqualTo("not a state");
    }

    @Test
    void theQueuesAreCopiedInAndOutAndTheirLengthsKnownWithoutACopy() {
        byte[] in = {1, 2};
        byte[] sent = {3};
        byte[] unsent = {4, 5, 6};
        ConnectionState s = state(LOCAL, REMOTE, 10, 20, in, sent, unsent, OPTIONS, WINDOW, SOCKET);
        in[0] = sent[0] = unsent[0] = 0;
        s.sentUnacknowledged()[0] = 0;
        s.unsent()[0] = 0;
        assertThat(s.receiveQueue()).containsExactly(1, 2);
        assertThat(s.sentUnacknowledged()).containsExactly(3);
        assertThat(s.unsent()).containsExactly(4, 5, 6);
        assertThat(s.receiveQueueLength()).isEqualTo(2);
        assertThat(s.sendQueueLength()).isEqualTo(1 + 3);
        assertThat(s.ipVersion()).isEqualTo(4);
    }
}
