package dev.kdirect.tcprepair;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Streams a deterministic byte sequence into a connection and checks the one coming back, byte by byte against
 * its position, so a lost, duplicated or reordered byte fails at once. Byte i of a stream is a hash of (seed, i):
 * shifting by any number of bytes changes it. Rate-limited (about 4 MB/s each way, 0.4 MB/s in the QEMU guest) so
 * several JVMs share two cores. {@link #stop} hands back the positions, which travel with a migrated connection.
 */
final class StreamPump {
    private static final int CHUNK = 4096;
    /** Under the QEMU guest's TCG everything runs ~20x slower: pumping less leaves the CPU to the migration. */
    private static final int PAUSE_MILLIS = "1".equals(System.getenv("KDIRECT_IN_GUEST")) ? 10 : 1;

    /** How far each stream has got: bytes written into the socket, bytes read and verified. */
    record Positions(long sent, long received) {
        byte[] bytes() {
            return ByteBuffer.allocate(16).putLong(sent).putLong(received).array();
        }

        static Positions of(byte[] bytes) {
            ByteBuffer b = ByteBuffer.wrap(bytes);
            return new Positions(b.getLong(), b.getLong());
        }
    }

    private final SocketChannel channel;
    private final long sendSeed;
    private final long receiveSeed;
    private final Thread thread;
    private final AtomicReference<String> error = new AtomicReference<>();
    private volatile boolean stopping;
    private volatile long sent;
    private volatile long received;
    private volatile long lastArrival = System.nanoTime();
    private volatile long longestGapNanos;

    StreamPump(SocketChannel channel, long sendSeed, long receiveSeed, Positions from) throws IOException {
        this.channel = channel;
        this.sendSeed = sendSeed;
        this.receiveSeed = receiveSeed;
        this.sent = from.sent();
        this.received = from.received();
        channel.configureBlocking(false);
        thread = Thread.ofPlatform().daemon().name("pump").start(this::run);
    }

    static byte at(long seed, long i) {
        long z = (i + seed) * 0x9E3779B97F4A7C15L;
        z ^= z >>> 29;
        z *= 0xBF58476D1CE4E5B9L;
        return (byte) (z >>> 40);
    }

    private void run() {
        ByteBuffer in = ByteBuffer.allocate(65536);
        ByteBuffer out = ByteBuffer.allocate(CHUNK).limit(0);
        try {
            while (!stopping) {
                in.clear();
                int n = channel.read(in);
                if (n < 0) {
                    throw new IOException("end of stream after " + received + " bytes: the other side closed");
                }
                if (n > 0) {
                    long now = System.nanoTime();
                    longestGapNanos = Math.max(longestGapNanos, now - lastArrival);
                    lastArrival = now;
                    long position = received;
                    for (int k = 0; k < n; k++, position++) {
                        byte expected = at(receiveSeed, position);
                        if (in.get(k) != expected) {
                            throw new IOException("byte " + position + " is " + in.get(k) + ", expected " + expected
                                    + ": the stream lost, duplicated or reordered bytes");
                        }
                    }
                    received = position;
                }
                if (!out.hasRemaining()) { // the next chunk starts where the socket's acceptance stopped
                    out.clear();
                    for (int k = 0; k < CHUNK; k++) {
                        out.put(at(sendSeed, sent + k));
                    }
                    out.flip();
                }
                sent += channel.write(out);
                Thread.sleep(PAUSE_MILLIS);
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            error.compareAndSet(null, e.toString());
        }
    }

    /** Stops pumping (nothing is read or written after this returns) and gives the positions. */
    Positions stop() throws InterruptedException {
        stopping = true;
        thread.join();
        return positions();
    }

    /**
     * Where the streams stand. Bytes generated but not yet accepted by the socket are not counted: the next
     * pump regenerates them from the same position.
     */
    Positions positions() {
        return new Positions(sent, received);
    }

    SocketChannel channel() {
        return channel;
    }

    /** The first failure (a wrong byte, end of stream, a reset), or null. */
    String error() {
        return error.get();
    }

    /** The longest time between two arrivals, in ms: the stream's downtime. */
    long longestGapMillis() {
        return longestGapNanos / 1_000_000;
    }

    /** Resets the gap measurement (e.g. to ignore start-up). */
    void resetGap() {
        lastArrival = System.nanoTime();
        longestGapNanos = 0;
    }
}
