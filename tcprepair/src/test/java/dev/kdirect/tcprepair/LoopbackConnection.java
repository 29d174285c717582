package dev.kdirect.tcprepair;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * A loopback connection of a server (the side that migrates, on the listening port, as a service's would) and
 * its client peer, with bytes the peer sent that the server has not read yet: they must survive every move or
 * rollback, in order, before anything sent afterwards.
 */
final class LoopbackConnection implements AutoCloseable {
    final ServerSocketChannel listener;
    final SocketChannel peer;
    final SocketChannel server;
    final byte[] unread;

    LoopbackConnection(String host, String unreadText) throws IOException, InterruptedException {
        listener = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getByName(host), 0));
        peer = SocketChannel.open(listener.getLocalAddress());
        server = listener.accept();
        unread = unreadText.getBytes(StandardCharsets.US_ASCII);
        peer.write(ByteBuffer.wrap(unread));
        for (int i = 0; i < 200 && server.socket().getInputStream().available() < unread.length; i++) {
            Thread.sleep(5);
        }
    }

    /**
     * The connection works both ways through {@code now} (the server's channel after the move or rollback): the
     * unread bytes first, then fresh bytes each way, and no end of stream or reset on either side.
     */
    void assertWorksThrough(SocketChannel now) throws IOException {
        now.configureBlocking(true);
        peer.write(ByteBuffer.wrap("after".getBytes(StandardCharsets.US_ASCII)));
        assertThat(new String(read(now, unread.length + 5), StandardCharsets.US_ASCII))
                .isEqualTo(new String(unread, StandardCharsets.US_ASCII) + "after");
        now.write(ByteBuffer.wrap("reply".getBytes(StandardCharsets.US_ASCII)));
        assertThat(new String(read(peer, 5), StandardCharsets.US_ASCII)).isEqualTo("reply");
    }

    static byte[] read(SocketChannel channel, int length) throws IOException {
        ByteBuffer buffer = ByteBuffer.allocate(length);
        while (buffer.hasRemaining()) {
            if (channel.read(buffer) < 0) {
                throw new IOException("end of stream after " + buffer.position() + " of " + length + " bytes");
            }
        }
        return buffer.array();
    }

    @Override
    public void close() throws IOException {
        try (listener; peer; server) {
            // closes all three
        }
    }
}
