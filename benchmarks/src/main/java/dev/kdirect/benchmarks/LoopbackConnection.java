package dev.kdirect.benchmarks;

import dev.kdirect.Kernels;
import dev.kdirect.SocketConstants;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
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
        if (queued > FITS_DEFAULT_BUFFER) {
            forceReceiveBuffer(2 * queued);
        }
        ByteBuffer bytes = ByteBuffer.allocate(queued);
        while (bytes.hasRemaining()) {
            peer.write(bytes);
        }
        for (int waited = 0; end.socket().getInputStream().available() < queued; waited++) {
            if (waited == 5000) {
                throw new IllegalStateException("the peer's " + queued + " bytes did not arrive within 5 s");
            }
            Thread.sleep(1);
        }
    }

    /** Unread bytes the receive buffer holds without help (the kernel's default buffers). */
    private static final int FITS_DEFAULT_BUFFER = 1 << 17;

    /**
     * The measured end's receive buffer forced past net.core.rmem_max (SO_RCVBUFFORCE, as root), so that a
     * megabyte from the peer can wait unread: the window opens as the buffer allows.
     */
    private void forceReceiveBuffer(int bytes) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            int fd = SoccrBaseline.descriptor(localPort(), remotePort());
            Kernels.real().setsockopt(fd, SocketConstants.SOL_SOCKET, SocketConstants.SO_RCVBUFFORCE,
                    arena.allocateFrom(ValueLayout.JAVA_INT, bytes));
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IOException("could not find the connection's descriptor", t);
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
