package dev.kdirect.tcprepair;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kdirect.Binding;
import dev.kdirect.Feature;
import dev.kdirect.contract.ContractKernels;
import dev.kdirect.testing.RequiresRealKernel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Checkpoints of live JDK SocketChannels (IPv4 and IPv6 loopback) on the real kernel through FFM and JNA: the channel
 * wrappers of TcpRepair (the descriptor found through /proc, the addresses of the JDK's dual-stack sockets): both
 * ends' states agree with each other, the receive queue holds exactly the unread bytes, and the connection works on
 * afterwards. The simulated kernel has no JDK channels: the same assertions run by descriptor on all three bindings
 * in TcpRepairContractTest.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(value = Binding.class, names = {"FFM", "JNA"})
@RequiresRealKernel(Feature.TCP_REPAIR)
@org.junit.jupiter.api.Timeout(60) // a lost byte would block a read forever
class CheckpointTest {
    @Parameter
    Binding binding;

    @org.junit.jupiter.params.ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "::1"})
    void bothEndsOfALoopbackConnectionCheckpointConsistentlyAndKeepWorking(String host) throws Exception {
        TcpRepair repair = TcpRepair.on(ContractKernels.kernel(binding, Feature.TCP_REPAIR));
        try (ServerSocketChannel server = ServerSocketChannel.open()
                .bind(new InetSocketAddress(InetAddress.getByName(host), 0));
                SocketChannel client = SocketChannel.open(server.getLocalAddress());
                SocketChannel peer = server.accept()) {
            byte[] fromPeer = "unread bytes from the peer".getBytes(StandardCharsets.US_ASCII);
            peer.write(ByteBuffer.wrap(fromPeer));
            Await.queued(client, fromPeer.length);

            ConnectionState c = repair.checkpoint(client);
            ConnectionState p = repair.checkpoint(peer);

            assertThat(c.local()).isEqualTo(client.getLocalAddress());
            assertThat(c.remote()).isEqualTo(client.getRemoteAddress());
            assertThat(c.receiveQueue()).isEqualTo(fromPeer);
            assertThat(c.sentUnacknowledged()).isEmpty();
            assertThat(c.unsent()).isEmpty();
            BothEnds.assertAgree(c, p);
            assertThat(ConnectionImage.read(ConnectionImage.write(c))).isEqualTo(c);

            ByteBuffer got = ByteBuffer.allocate(fromPeer.length);
            while (got.hasRemaining()) {
                client.read(got);
            }
            assertThat(got.array()).isEqualTo(fromPeer);
            client.write(ByteBuffer.wrap(new byte[] {42}));
            ByteBuffer one = ByteBuffer.allocate(1);
            peer.read(one);
            assertThat(one.get(0)).isEqualTo((byte) 42);
        }
    }

    @Test
    void anUnconnectedChannelIsRefused() throws Exception {
        TcpRepair repair = TcpRepair.on(ContractKernels.kernel(binding, Feature.TCP_REPAIR));
        try (SocketChannel channel = SocketChannel.open()) {
            assertThatThrownBy(() -> repair.checkpoint(channel)).hasMessageContaining("not connected");
        }
    }
}
