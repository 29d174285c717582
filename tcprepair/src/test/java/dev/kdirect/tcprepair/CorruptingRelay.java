package dev.kdirect.tcprepair;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A relay of one session between a migration source and target (Unix domain sockets or TCP) that flips one bit of
 * the byte at a given offset of the source's stream (corruption in transit; -1: none), and records what it passed
 * on from the source: what crossed the wire.
 */
final class CorruptingRelay implements AutoCloseable {
    private final ServerSocketChannel server;
    private final Path path;
    private final ByteArrayOutputStream captured = new ByteArrayOutputStream();
    private final Thread relay;

    CorruptingRelay(Path path, Path target, long corruptAt) throws IOException {
        this(UnixDomainSocketAddress.of(path), UnixDomainSocketAddress.of(target), corruptAt);
    }

    CorruptingRelay(SocketAddress listen, SocketAddress target, long corruptAt) throws IOException {
        boolean unix = listen instanceof UnixDomainSocketAddress;
        this.path = unix ? ((UnixDomainSocketAddress) listen).getPath() : null;
        server = (unix ? ServerSocketChannel.open(StandardProtocolFamily.UNIX) : ServerSocketChannel.open())
                .bind(listen);
        relay = Thread.ofPlatform().daemon().start(() -> {
            try (SocketChannel source = server.accept(); SocketChannel toTarget = SocketChannel.open(target)) {
                Thread back = Thread.ofPlatform().daemon().start(() -> copy(toTarget, source, -1, null));
                copy(source, toTarget, corruptAt, captured);
                back.join();
            } catch (IOException | InterruptedException ended) {
                // one side closed
            }
        });
    }

    private static void copy(SocketChannel from, SocketChannel to, long corruptAt, ByteArrayOutputStream record) {
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
                if (record != null) {
                    synchronized (record) {
                        record.write(b.array(), 0, b.limit());
                    }
                }
                while (b.hasRemaining()) {
                    to.write(b);
                }
            }
            to.shutdownOutput();
        } catch (IOException ended) {
            // one side closed
        }
    }

    /** What the source sent through the relay, once its session has ended (waited for up to the timeout). */
    byte[] captured(long timeoutMillis) throws InterruptedException {
        relay.join(timeoutMillis);
        synchronized (captured) {
            return captured.toByteArray();
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        if (path != null) {
            Files.deleteIfExists(path);
        }
    }
}
