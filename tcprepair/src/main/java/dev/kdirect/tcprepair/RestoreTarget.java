package dev.kdirect.tcprepair;

import static dev.kdirect.SocketConstants.MSG_NOSIGNAL;

import dev.kdirect.Kernel;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * The socket a restore rebuilds a connection into: a descriptor, plus the three calls the owner of the socket must
 * make itself. A JDK {@link SocketChannel} has to bind and connect through its own methods (it would not know it
 * is connected otherwise); a plain descriptor binds and connects through the {@link Kernel}. The order of the
 * restore is {@link TcpRepair}'s alone.
 */
interface RestoreTarget {
    /** The socket's descriptor, for the repair options. */
    int fd();

    /** bind(2); in repair mode the kernel forces address reuse. */
    void bind(InetSocketAddress local) throws IOException;

    /** connect(2); in repair mode no SYN is sent. */
    void connect(InetSocketAddress remote) throws IOException;

    /** Sends every byte normally (after repair mode), from native memory. */
    void sendAll(MemorySegment bytes) throws IOException;

    /** A JDK channel, connected through its own methods. */
    record Channel(SocketChannel channel, int fd) implements RestoreTarget {
        @Override
        public void bind(InetSocketAddress local) throws IOException {
            channel.bind(local);
        }

        @Override
        public void connect(InetSocketAddress remote) throws IOException {
            channel.connect(remote);
        }

        @Override
        public void sendAll(MemorySegment bytes) throws IOException {
            for (ByteBuffer tail = bytes.asByteBuffer(); tail.hasRemaining(); ) {
                channel.write(tail);
            }
        }
    }

    /** A descriptor of the kernel's, connected through bind(2) and connect(2). */
    record Descriptor(Kernel kernel, int fd) implements RestoreTarget {
        @Override
        public void bind(InetSocketAddress local) throws IOException {
            kernel.bind(fd, local);
        }

        @Override
        public void connect(InetSocketAddress remote) throws IOException {
            kernel.connect(fd, remote);
        }

        @Override
        public void sendAll(MemorySegment bytes) throws IOException {
            for (long done = 0; done < bytes.byteSize(); ) {
                done += kernel.send(fd, bytes.asSlice(done), MSG_NOSIGNAL);
            }
        }
    }
}
