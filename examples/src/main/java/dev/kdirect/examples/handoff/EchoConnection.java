package dev.kdirect.examples.handoff;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.Arrays;

/**
 * The server's work on one client connection: echo every byte back. Bytes read but not yet written back are its
 * only state; {@link #stop} returns them so they travel with the connection and the successor writes them first.
 */
public final class EchoConnection {
    private final SocketChannel channel;
    private final Thread thread;
    private final ByteBuffer pending = ByteBuffer.allocate(64 * 1024);
    private volatile boolean stopping;
    private volatile String error;

    /** Starts echoing, after writing {@code first} (the state a predecessor handed over). */
    public EchoConnection(SocketChannel channel, byte[] first) throws IOException {
        this.channel = channel;
        channel.configureBlocking(false);
        pending.put(first).flip();
        thread = Thread.ofPlatform().daemon().name("echo " + channel.getRemoteAddress()).start(this::run);
    }

    private void run() {
        try {
            while (!stopping) {
                if (!pending.hasRemaining()) {
                    pending.clear();
                    if (channel.read(pending) < 0) {
                        return; // the client left
                    }
                    pending.flip();
                }
                channel.write(pending);
                Thread.sleep(1);
            }
        } catch (IOException | InterruptedException e) {
            error = e.toString();
        }
    }

    public SocketChannel channel() {
        return channel;
    }

    /** The first failure, or null. */
    public String error() {
        return error;
    }

    /** Stops echoing; nothing is read or written afterwards. Returns the bytes read but not yet echoed. */
    public byte[] stop() throws InterruptedException {
        stopping = true;
        thread.join();
        return Arrays.copyOfRange(pending.array(), pending.position(), pending.limit());
    }
}
