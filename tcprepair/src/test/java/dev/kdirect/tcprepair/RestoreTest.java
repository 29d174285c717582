package dev.kdirect.tcprepair;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kdirect.Binding;
import dev.kdirect.Feature;
import dev.kdirect.contract.ContractKernels;
import dev.kdirect.contract.Sockets;
import dev.kdirect.testing.RequiresRealKernel;
import dev.kdirect.SocketConstants;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A live connection detached (checkpointed, then closed in repair mode: nothing sent) and restored in a new
 * channel, through its binary image: the unread bytes are there, both directions work on, and the peer never
 * sees an end of stream or a reset. JDK channels exist on the real kernel only; the restore by descriptor runs on all
 * three bindings in TcpRepairContractTest.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(value = Binding.class, names = {"FFM", "JNA"})
@RequiresRealKernel(Feature.TCP_REPAIR)
@org.junit.jupiter.api.Timeout(60) // a lost byte would block a read forever
class RestoreTest {
    @Parameter
    Binding binding;

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "::1"})
    void aDetachedConnectionIsRestoredWithItsQueuesAndThePeerNoticesNothing(String host) throws Exception {
        TcpRepair repair = TcpRepair.on(ContractKernels.kernel(binding, Feature.TCP_REPAIR));
        try (ServerSocketChannel server = ServerSocketChannel.open()
                .bind(new InetSocketAddress(InetAddress.getByName(host), 0));
                SocketChannel original = SocketChannel.open(server.getLocalAddress());
                SocketChannel peer = server.accept()) {
            byte[] unread = "sent by the peer before the move".getBytes(StandardCharsets.US_ASCII);
            peer.write(ByteBuffer.wrap(unread));
            Await.queued(original, unread.length);
            byte[] image = ConnectionImage.write(repair.detach(original));
            assertThat(original.isOpen()).isFalse();

            try (SocketChannel restored = repair.restore(ConnectionImage.read(image))) {
                assertThat(restored.getRemoteAddress()).isEqualTo(peer.getLocalAddress());
                assertThat(read(restored, unread.length)).isEqualTo(unread);
                restored.write(ByteBuffer.wrap("after the move".getBytes(StandardCharsets.US_ASCII)));
                assertThat(new String(read(peer, 14), StandardCharsets.US_ASCII)).isEqualTo("after the move");
                peer.write(ByteBuffer.wrap("and back".getBytes(StandardCharsets.US_ASCII)));
                assertThat(new String(read(restored, 8), StandardCharsets.US_ASCII)).isEqualTo("and back");
            }
        }
    }

    @org.junit.jupiter.api.Test
    void aConnectionDetachedByDescriptorGoesOnInAChannel() throws Exception {
        dev.kdirect.Kernel kernel = ContractKernels.kernel(binding, Feature.TCP_REPAIR);
        TcpRepair repair = TcpRepair.on(kernel);
        try (Sockets s = new Sockets(kernel)) {
            Sockets.Pair p = s.pair("127.0.0.1");
            s.send(p.server(), "queued for the descriptor");
            s.awaitQueued(p.client(), 25);
            ConnectionState state = repair.detach(s.untrack(p.client()));
            try (SocketChannel restored = repair.restore(state)) {
                assertThat(restored.getLocalAddress()).isEqualTo(state.local());
                assertThat(new String(read(restored, 25), StandardCharsets.US_ASCII))
                        .isEqualTo("queued for the descriptor");
                restored.write(ByteBuffer.wrap("from the channel".getBytes(StandardCharsets.US_ASCII)));
                assertThat(s.read(p.server(), 16)).isEqualTo("from the channel");
            }
        }
    }

    @org.junit.jupiter.api.Test
    void aConnectionRestoredFrozenSaysNothingUntilThawedAndCanBeLetGoSilently() throws Exception {
        dev.kdirect.Kernel kernel = ContractKernels.kernel(binding, Feature.TCP_REPAIR);
        TcpRepair repair = TcpRepair.on(kernel);
        try (ServerSocketChannel server = ServerSocketChannel.open()
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                SocketChannel original = SocketChannel.open(server.getLocalAddress());
                SocketChannel peer = server.accept()) {
            peer.write(ByteBuffer.wrap("unread".getBytes(StandardCharsets.US_ASCII)));
            Await.queued(original, 6);
            ConnectionState state = repair.detach(original);

            FrozenConnection letGo = repair.restoreFrozen(state);
            assertThat(letGo.channel().getRemoteAddress()).isEqualTo(peer.getLocalAddress());
            letGo.release(); // closed in repair mode: neither FIN nor RST
            FrozenConnection kept = repair.restoreFrozen(state); // the 4-tuple is free again
            assertPeerSawNothing(peer);
            // still in repair mode: the window is the captured one, as TCP_REPAIR_WINDOW set it (once the socket
            // leaves repair mode the peer's answer to its window probe moves it)
            MemorySegment window = Arena.ofAuto().allocate(SocketConstants.TCP_REPAIR_WINDOW_SIZE);
            kernel.getsockopt(SocketDescriptor.of(kernel, kept.channel()), SocketConstants.SOL_TCP,
                    SocketConstants.TCP_REPAIR_WINDOW, window);
            ConnectionState.RepairWindow w = state.window();
            assertThat(window.toArray(ValueLayout.JAVA_INT)).containsExactly(w.sendWl1(), w.sendWindow(),
                    w.maxWindow(), w.receiveWindow(), w.receiveWup());

            kept.thaw();
            assertThatThrownBy(kept::thaw).isInstanceOf(IllegalStateException.class);
            try (SocketChannel restored = kept.channel()) {
                assertThat(new String(read(restored, 6), StandardCharsets.US_ASCII)).isEqualTo("unread");
                restored.write(ByteBuffer.wrap("thawed".getBytes(StandardCharsets.US_ASCII)));
                assertThat(new String(read(peer, 6), StandardCharsets.US_ASCII)).isEqualTo("thawed");
                // a FIN or RST from the copy let go, sent before "thawed", would have ended the stream by now
                assertPeerSawNothing(peer);
            }
        }
    }

    private static void assertPeerSawNothing(SocketChannel peer) throws Exception {
        peer.configureBlocking(false);
        assertThat(peer.read(ByteBuffer.allocate(1))).as("the peer saw nothing: no data, no EOF, no reset").isZero();
        peer.configureBlocking(true);
    }

    private static byte[] read(SocketChannel channel, int length) throws Exception {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                throw new AssertionError("end of stream after " + buffer.position() + " of " + length + " bytes");
            }
        }
        return buffer.array();
    }
}
