package dev.kdirect.tcprepair;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * The migration protocol's frames on a Unix domain stream socket. A frame is: u32 length of what follows, u8
 * type, the payload, u32 CRC-32C of type and payload; big-endian. Reads wait at most the session's timeout, so
 * a peer that hangs is treated like one that died. Layouts are in {@link MigrationSource}'s class comment.
 */
final class MigrationWire implements AutoCloseable {
    static final byte[] MAGIC = "KDMIGRAT".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 1;
    static final int MAX_FRAME = 256 << 20;

    static final byte HELLO = 1;
    static final byte WELCOME = 2;
    static final byte IMAGE = 3;
    static final byte VERDICT = 4;
    static final byte RELEASED = 5;
    static final byte COMMIT = 6;
    static final byte ABORT = 7;
    static final byte DONE = 8;

    /** A VERDICT's code: the image is valid (same namespace, before the source releases). */
    static final int VALID = 1;
    /** A VERDICT's code: the image was refused; nothing was restored. */
    static final int REFUSED = 2;
    /** A VERDICT's code: restored here, held in repair mode until COMMIT. */
    static final int RESTORED = 3;
    /** A VERDICT's code: the restore failed here. */
    static final int FAILED = 4;

    /** Frames batched until a flush: a migration of thousands of connections is a few writes, not thousands. */
    private static final int BATCH = 1 << 16;

    private final SocketChannel channel;
    private final Selector selector;
    private final long timeoutMillis;
    private ByteBuffer outbound = ByteBuffer.allocate(BATCH);
    /** Bytes read ahead of the frame being parsed (read mode): one read takes in many frames. */
    private ByteBuffer inbound = ByteBuffer.allocate(BATCH).flip();

    MigrationWire(SocketChannel channel, long timeoutMillis) throws IOException {
        this.channel = channel;
        this.timeoutMillis = timeoutMillis;
        channel.configureBlocking(false);
        this.selector = Selector.open();
    }

    /** A received frame: its type and payload (the checksum was verified). */
    record Frame(byte type, ByteBuffer payload) {
        int getInt() {
            return payload.getInt();
        }

        byte[] bytes() {
            byte[] b = new byte[payload.getInt()];
            payload.get(b);
            return b;
        }

        String text() {
            return new String(bytes(), StandardCharsets.UTF_8);
        }
    }

    /**
     * Sends a frame. IMAGE and VERDICT frames, which come by the thousand, wait in a batch until a flush, which
     * every other frame and every {@link #receive} do: a frame the other side must answer, and
     * COMMIT, whose delivery decides who owns the connections, are written before this returns.
     */
    void send(byte type, ByteBuffer payload) throws IOException {
        payload.flip();
        int length = 1 + payload.remaining() + 4;
        CRC32C crc = new CRC32C();
        crc.update(type);
        crc.update(payload.duplicate());
        if (outbound.remaining() < 4 + length) {
            flush();
            if (outbound.capacity() < 4 + length) {
                outbound = ByteBuffer.allocate(4 + length);
            }
        }
        outbound.putInt(length).put(type).put(payload).putInt((int) crc.getValue());
        if (type != IMAGE && type != VERDICT) {
            flush();
        }
    }

    /** Writes every batched frame. */
    void flush() throws IOException {
        outbound.flip();
        try {
            while (outbound.hasRemaining()) {
                if (channel.write(outbound) == 0) {
                    await(SelectionKey.OP_WRITE, "sending");
                }
            }
        } finally {
            outbound.compact();
        }
    }

    void send(byte type) throws IOException {
        send(type, ByteBuffer.allocate(0));
    }

    /** The next frame (after flushing what waits to be sent); a bad checksum or length is a protocol error. */
    Frame receive() throws IOException {
        flush();
        int length = fill(4).getInt();
        if (length < 5 || length > MAX_FRAME) {
            throw new MigrationException("protocol error: a frame of " + length + " bytes (corrupted in transit?)");
        }
        ByteBuffer body = ByteBuffer.allocate(length).put(fill(length).slice(inbound.position(), length)).flip();
        inbound.position(inbound.position() + length);
        CRC32C crc = new CRC32C();
        crc.update(body.array(), 0, length - 4);
        if ((int) crc.getValue() != body.getInt(length - 4)) {
            throw new MigrationException("protocol error: a frame of type " + body.get(0)
                    + " fails its CRC-32C (corrupted in transit)");
        }
        return new Frame(body.get(0), body.slice(1, length - 5));
    }

    /** The next frame, which must be of this type (an ABORT is reported with its reason). */
    Frame expect(byte type) throws IOException {
        Frame f = receive();
        if (f.type() == ABORT) {
            throw new MigrationException("the other side aborted: " + f.text());
        }
        if (f.type() != type) {
            throw new MigrationException("protocol error: expected a frame of type " + type + ", got " + f.type());
        }
        return f;
    }

    /** Waits until the other side closes the session (it has finished cleaning up), at most the timeout. */
    void awaitEnd() {
        try {
            while (true) {
                receive();
            }
        } catch (IOException ended) {
            // closed, or gave up waiting: either way the session is over
        }
    }

    /** The inbound buffer holding at least {@code n} unparsed bytes, reading (and growing it) as needed. */
    private ByteBuffer fill(int n) throws IOException {
        if (inbound.remaining() >= n) {
            return inbound;
        }
        if (inbound.capacity() < n) {
            inbound = ByteBuffer.allocate(Math.max(n, 2 * inbound.capacity())).put(inbound).flip();
        }
        inbound.compact();
        try {
            while (inbound.position() < n) {
                int read = channel.read(inbound);
                if (read < 0) {
                    throw new EOFException("the other side closed the migration session");
                }
                if (read == 0) {
                    await(SelectionKey.OP_READ, "receiving");
                }
            }
        } finally {
            inbound.flip();
        }
        return inbound;
    }

    private void await(int op, String what) throws IOException {
        SelectionKey key = channel.register(selector, op);
        try {
            if (selector.select(timeoutMillis) == 0) {
                throw new MigrationException("no progress " + what + " for " + timeoutMillis
                        + " ms: the other side hangs or died");
            }
            selector.selectedKeys().clear();
        } finally {
            key.interestOps(0);
        }
    }

    static ByteBuffer putBytes(ByteBuffer b, byte[] bytes) {
        return b.putInt(bytes.length).put(bytes);
    }

    static ByteBuffer putText(ByteBuffer b, String text) {
        return putBytes(b, text.getBytes(StandardCharsets.UTF_8));
    }

    static int textBytes(String text) {
        return 4 + text.getBytes(StandardCharsets.UTF_8).length;
    }

    @Override
    public void close() throws IOException {
        try {
            selector.close();
        } finally {
            channel.close();
        }
    }
}
