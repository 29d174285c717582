package dev.kdirect.tcprepair;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kdirect.Binding;
import dev.kdirect.Feature;
import dev.kdirect.contract.ContractKernels;
import dev.kdirect.testing.RequiresRealKernel;
import java.io.ByteArrayOutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The queued bytes' one trip (issue 15): peeked from the kernel into the memory the caller gives
 * ({@link TcpRepair#queuesIn}), held there by the state as read-only views, written from there into an image and a
 * migration frame (gathering writes, no copy), read back as slices of the image, and restored from there: the
 * bytes are the connection's at every step, and no step copied them where the test can see the memory.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(value = Binding.class, names = {"FFM", "JNA"})
@RequiresRealKernel(Feature.TCP_REPAIR)
@org.junit.jupiter.api.Timeout(60)
class QueuedBytesTest {
    private static final int QUEUED = 48 * 1024;

    @Parameter
    Binding binding;

    @Test
    void aCheckpointPeeksTheQueueIntoTheGivenMemoryAndTheStateViewsItReadOnly() throws Exception {
        byte[] fromPeer = randomBytes(QUEUED);
        try (Connection c = new Connection(fromPeer)) {
            Arena arena = Arena.ofConfined(); // closed below
            ConnectionState state = repair().queuesIn(arena).checkpoint(c.client);

            MemorySegment view = state.receiveQueueView();
            assertThat(view.isNative()).isTrue();
            assertThat(view.isReadOnly()).isTrue();
            assertThat(view.scope()).isEqualTo(arena.scope());
            assertThat(view.toArray(ValueLayout.JAVA_BYTE)).isEqualTo(fromPeer);
            assertThatThrownBy(() -> view.set(ValueLayout.JAVA_BYTE, 0, (byte) 1))
                    .isInstanceOf(IllegalArgumentException.class);
            arena.close();
            assertThat(view.scope().isAlive()).as("the state's queue lives in the caller's arena, not a copy").isFalse();
            c.assertStillWorks(fromPeer);
        }
    }

    @Test
    void withoutGivenMemoryTheQueueIsCopiedToTheHeap() throws Exception {
        byte[] fromPeer = randomBytes(QUEUED);
        try (Connection c = new Connection(fromPeer)) {
            ConnectionState state = repair().checkpoint(c.client);
            assertThat(state.receiveQueueView().isNative()).isFalse();
            assertThat(state.receiveQueueView().isReadOnly()).isTrue();
            assertThat(state.receiveQueue()).isEqualTo(fromPeer);
            c.assertStillWorks(fromPeer);
        }
    }

    @Test
    void theImageIsWrittenFromTheViewsAndReadBackAsSlicesOfItself() throws Exception {
        byte[] fromPeer = randomBytes(QUEUED);
        try (Connection c = new Connection(fromPeer); Arena arena = Arena.ofConfined()) {
            ConnectionState state = repair().queuesIn(arena).checkpoint(c.client);

            List<MemorySegment> parts = ConnectionImage.parts(state);
            assertThat(parts).anySatisfy(part -> assertThat(part.address())
                    .isEqualTo(state.receiveQueueView().address()));
            ByteArrayOutputStream sink = new ByteArrayOutputStream();
            long length = ConnectionImage.write(state, gathering(sink));
            byte[] gathered = sink.toByteArray();
            assertThat(gathered).hasSize((int) length).isEqualTo(ConnectionImage.write(state));

            MemorySegment image = arena.allocate(gathered.length).copyFrom(MemorySegment.ofArray(gathered));
            ConnectionState read = ConnectionImage.read(image);
            assertThat(read).isEqualTo(state);
            MemorySegment queue = read.receiveQueueView();
            assertThat(queue.address()).as("the queue is a slice of the image")
                    .isBetween(image.address(), image.address() + image.byteSize() - queue.byteSize());
            c.assertStillWorks(fromPeer);
        }
    }

    @Test
    void aMigrationFrameCarriesTheQueueFromItsViewAndIsReceivedIntoNativeMemory() throws Exception {
        byte[] fromPeer = randomBytes(QUEUED);
        try (Connection c = new Connection(fromPeer); Arena arena = Arena.ofConfined()) {
            ConnectionState state = repair().queuesIn(arena).checkpoint(c.client);
            var image = new MigrationWire.Image(3, ConnectionImage.parts(state), new byte[] {7});

            ByteBuffer[] parts = MigrationWire.frameParts(image);
            assertThat(parts).anySatisfy(part -> {
                assertThat(part.isDirect()).isTrue();
                assertThat(MemorySegment.ofBuffer(part).address()).isEqualTo(state.receiveQueueView().address());
            });
            ByteBuffer frame = MigrationWire.frame(image);
            ByteBuffer body = arena.allocate(frame.remaining() - 4).asByteBuffer().put(frame.position(4)).flip();
            var decoded = (MigrationWire.Image) MigrationWire.decodeFrame(body, MigrationLimits.defaults());
            assertThat(decoded.index()).isEqualTo(3);
            assertThat(decoded.attachment()).containsExactly(7);
            assertThat(decoded.whole().isNative()).isTrue();
            assertThat(ConnectionImage.read(decoded.whole())).isEqualTo(state);
        }
    }

    @Test
    void aStateFromNativeMemoryAndOneFromArraysRestoreTheSameBytes() throws Exception {
        byte[] fromPeer = randomBytes(QUEUED);
        try (Connection c = new Connection(fromPeer); Arena arena = Arena.ofConfined()) {
            TcpRepair repair = repair().queuesIn(arena);
            ConnectionState frozen = repair.detach(c.client);
            // from the native views; then, on a new connection, from a copy on the heap
            try (SocketChannel restored = repair.restore(frozen)) {
                assertThat(readExactly(restored, fromPeer.length)).isEqualTo(fromPeer);
            }
        }
        try (Connection c = new Connection(fromPeer)) {
            ConnectionState onHeap = ConnectionImage.read(ConnectionImage.write(repair().detach(c.client)));
            assertThat(onHeap.receiveQueueView().isNative()).isFalse();
            try (SocketChannel restored = repair().restore(onHeap)) {
                assertThat(readExactly(restored, fromPeer.length)).isEqualTo(fromPeer);
            }
        }
    }

    /** Reads exactly {@code n} bytes (blocking channel; the class's timeout ends a lost byte's wait). */
    private static byte[] readExactly(SocketChannel channel, int n) throws java.io.IOException {
        ByteBuffer got = ByteBuffer.allocate(n);
        while (got.hasRemaining()) {
            if (channel.read(got) < 0) {
                throw new java.io.EOFException("closed after " + got.position() + " of " + n + " bytes");
            }
        }
        return got.array();
    }

    private TcpRepair repair() {
        return TcpRepair.on(ContractKernels.kernel(binding, Feature.TCP_REPAIR));
    }

    private static byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        new Random(n).nextBytes(bytes);
        return bytes;
    }

    private static GatheringByteChannel gathering(ByteArrayOutputStream sink) {
        var out = Channels.newChannel(sink);
        return new GatheringByteChannel() {
            @Override
            public long write(ByteBuffer[] srcs, int offset, int length) throws java.io.IOException {
                long n = 0;
                for (int i = offset; i < offset + length; i++) {
                    n += out.write(srcs[i]);
                }
                return n;
            }

            @Override
            public long write(ByteBuffer[] srcs) throws java.io.IOException {
                return write(srcs, 0, srcs.length);
            }

            @Override
            public int write(ByteBuffer src) throws java.io.IOException {
                return out.write(src);
            }

            @Override
            public boolean isOpen() {
                return out.isOpen();
            }

            @Override
            public void close() throws java.io.IOException {
                out.close();
            }
        };
    }

    /** A loopback connection whose client end has the peer's bytes unread. */
    private static final class Connection implements AutoCloseable {
        final ServerSocketChannel server;
        final SocketChannel client;
        final SocketChannel peer;

        Connection(byte[] fromPeer) throws Exception {
            server = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            client = SocketChannel.open(server.getLocalAddress());
            peer = server.accept();
            for (ByteBuffer b = ByteBuffer.wrap(fromPeer); b.hasRemaining(); ) {
                peer.write(b);
            }
            Await.queued(client, fromPeer.length);
        }

        /** The client reads the peer's bytes, and the peer what the client sends: the connection went on. */
        void assertStillWorks(byte[] fromPeer) throws Exception {
            assertThat(readExactly(client, fromPeer.length)).isEqualTo(fromPeer);
            client.write(ByteBuffer.wrap(new byte[] {42}));
            assertThat(readExactly(peer, 1)).containsExactly(42);
        }

        @Override
        public void close() throws Exception {
            try (server; client; peer) {
                // closed in reverse order
            }
        }
    }
}
