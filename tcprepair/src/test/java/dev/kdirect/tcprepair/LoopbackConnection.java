package dev.kdirect.tcprepair;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * A loopback connection of a server (the side that migrates, on the listening port, as a service's would) and
 * its client peer, with bytes the peer sent that the server has not read yet: they must survive every move or
 * rollback, in order, before anything sent afterwards, as must the bytes either side sent while the lock held.
 */
final class LoopbackConnection implements AutoCloseable {
    final ServerSocketChannel listener;
    final SocketChannel peer;
    final SocketChannel server;
    final byte[] unread;
    /** Bytes sent while the network lock held (each way): they arrive once it is gone, before anything later. */
    private final StringBuilder lockedToServer = new StringBuilder();
    private final StringBuilder lockedToPeer = new StringBuilder();

    LoopbackConnection(String host, String unreadText) throws Exception {
        listener = ServerSocketChannel.open().bind(new InetSocketAddress(InetAddress.getByName(host), 0));
        peer = SocketChannel.open(listener.getLocalAddress());
        server = listener.accept();
        unread = unreadText.getBytes(StandardCharsets.US_ASCII);
        peer.write(ByteBuffer.wrap(unread));
        Await.queued(server, unread.length);
    }

    /**
     * The peer sends a byte to {@code now} (the server's channel, or its frozen socket) while the lock holds;
     * returns what the lock let happen ({@link LockedSegment}: empty when it held).
     */
    List<String> peerSendsWhileLocked(SocketChannel now) throws Exception {
        lockedToServer.append('p');
        return LockedSegment.violations(LockedSegment.Sender.PEER, peer, now, (byte) 'p');
    }

    /** The server sends a byte to the peer through {@code now}, a live channel, while the lock holds; as above. */
    List<String> serverSendsWhileLocked(SocketChannel now) throws Exception {
        lockedToPeer.append('s');
        return LockedSegment.violations(LockedSegment.Sender.LOCKED_SOCKET, now, peer, (byte) 's');
    }

    /**
     * The connection works both ways through {@code now} (the server's channel after the move or rollback): the
     * unread bytes first, then fresh bytes each way, and no end of stream or reset on either side.
     */
    void assertWorksThrough(SocketChannel now) throws IOException {
        now.configureBlocking(true);
        peer.write(ByteBuffer.wrap("after".getBytes(StandardCharsets.US_ASCII)));
        String toServer = new String(unread, StandardCharsets.US_ASCII) + lockedToServer + "after";
        assertThat(new String(read(now, toServer.length()), StandardCharsets.US_ASCII)).isEqualTo(toServer);
        now.write(ByteBuffer.wrap("reply".getBytes(StandardCharsets.US_ASCII)));
        String toPeer = lockedToPeer + "reply";
        assertThat(new String(read(peer, toPeer.length()), StandardCharsets.US_ASCII)).isEqualTo(toPeer);
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
