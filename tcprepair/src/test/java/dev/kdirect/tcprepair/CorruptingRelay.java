package dev.kdirect.tcprepair;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A Unix domain socket relay between a migration source and target that flips one bit of the byte at a given
 * offset of the source's stream: corruption in transit.
 */
final class CorruptingRelay implements AutoCloseable {
    private final ServerSocketChannel server;
    private final Path path;

    CorruptingRelay(Path path, Path target, long corruptAt) throws IOException {
        this.path = path;
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX).bind(UnixDomainSocketAddress.of(path));
        Thread.ofPlatform().daemon().start(() -> {
            try (SocketChannel source = server.accept();
                    SocketChannel toTarget = SocketChannel.open(UnixDomainSocketAddress.of(target))) {
                Thread back = Thread.ofPlatform().daemon().start(() -> copy(toTarget, source, -1));
                copy(source, toTarget, corruptAt);
                back.join();
            } catch (IOException | InterruptedException ended) {
                // one side closed
            }
        });
    }

    private static void copy(SocketChannel from, SocketChannel to, long corruptAt) {
        ByteBuffer b = ByteBuffer.allocate(8192);
        long offset = 0;
        try {
            while (from.read(b.clear()) >= 0) {
                b.flip();
                if (corruptAt >= offset && corruptAt < offset + b.limit()) {
                    int i = (int) (corruptAt - offset);
                    b.put(i, (byte) (b.get(i) ^ 0x10));
                }
                offset += b.limit();
                while (b.hasRemaining()) {
                    to.write(b);
                }
            }
            to.shutdownOutput();
        } catch (IOException ended) {
            // one side closed
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        Files.deleteIfExists(path);
    }
}
