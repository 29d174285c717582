package dev.kdirect.benchmarks;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * A TCP connection over IPv4 loopback for the TCP repair benchmarks: the measured end ({@link #end}) with
 * {@code queued} bytes from the peer waiting unread in its receive queue, and the peer, which stays open and
 * quiet so that the connection stays ESTABLISHED however often it is checkpointed or moved.
 */
final class LoopbackConnection implements AutoCloseable {
    final ServerSocketChannel server;
    final SocketChannel end;
    final SocketChannel peer;

    LoopbackConnection(int queued) throws IOException, InterruptedException {
        server = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        end = SocketChannel.open(server.getLocalAddress());
        peer = server.accept();
        ByteBuffer bytes = ByteBuffer.allocate(queued);
        while (bytes.hasRemaining()) {
            peer.write(bytes);
        }
        for (int waited = 0; end.socket().getInputStream().available() < queued; waited++) {
            if (waited == 1000) {
                throw new IllegalStateException("the peer's " + queued + " bytes did not arrive within 1 s");
            }
            Thread.sleep(1);
        }
    }

    int localPort() throws IOException {
        return ((InetSocketAddress) end.getLocalAddress()).getPort();
    }

    int remotePort() throws IOException {
        return ((InetSocketAddress) end.getRemoteAddress()).getPort();
    }

    @Override
    public void close() throws IOException {
        try (server; end; peer) {
            // closed in reverse order
        }
    }
}
