package dev.kdirect.examples.handoff;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

/**
 * A client that streams a deterministic byte sequence to the echo server (about 2 MB/s) and checks every byte
 * that comes back against its position, so a lost, duplicated or reordered byte is caught. Its downtime is the
 * longest time without an echoed byte.
 */
public final class StreamingClient {
    private static final int CHUNK = 2048;

    /** What the client saw: bytes sent and verified, the longest gap, and the first error (or null). */
    public record Result(long sent, long verified, long longestGapMillis, String error) {
    }

    private final SocketChannel channel;
    private final Thread thread;
    private volatile boolean stopping;
    private volatile long sent;
    private volatile long verified;
    private volatile long longestGapNanos;
    private volatile String error;

    public StreamingClient(InetSocketAddress server) throws IOException {
        channel = SocketChannel.open(server);
        channel.configureBlocking(false);
        thread = Thread.ofPlatform().daemon().name("client").start(this::run);
    }

    static byte at(long i) {
        long z = i * 0x9E3779B97F4A7C15L;
        z ^= z >>> 29;
        return (byte) (z * 0xBF58476D1CE4E5B9L >>> 40);
    }

    private void run() {
        ByteBuffer in = ByteBuffer.allocate(65536);
        ByteBuffer out = ByteBuffer.allocate(CHUNK).limit(0);
        long lastArrival = 0;
        try {
            while (!stopping) {
                int n = channel.read(in.clear());
                if (n < 0) {
                    throw new IOException("the server closed the connection after " + verified + " bytes");
                }
                long position = verified;
                for (int k = 0; k < n; k++, position++) {
                    if (in.get(k) != at(position)) {
                        throw new IOException("echoed byte " + position + " is wrong: bytes were lost, duplicated"
                                + " or reordered");
                    }
                }
                if (n > 0) {
                    long now = System.nanoTime();
                    if (lastArrival != 0) {
                        longestGapNanos = Math.max(longestGapNanos, now - lastArrival);
                    }
                    lastArrival = now;
                    verified = position;
                }
                if (!out.hasRemaining()) {
                    out.clear();
                    for (int k = 0; k < CHUNK; k++) {
                        out.put(at(sent + k));
                    }
                    out.flip();
                }
                sent += channel.write(out);
                Thread.sleep(1);
            }
        } catch (IOException | InterruptedException e) {
            error = e.toString();
        }
    }

    /** Bytes echoed and verified so far. */
    public long verified() {
        return verified;
    }

    /** Stops, closes the connection and reports. */
    public Result stop() throws InterruptedException, IOException {
        stopping = true;
        thread.join();
        channel.close();
        return new Result(sent, verified, longestGapNanos / 1_000_000, error);
    }
}
