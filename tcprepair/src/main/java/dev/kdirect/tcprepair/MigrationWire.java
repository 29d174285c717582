package dev.kdirect.tcprepair;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The migration protocol's frames on a {@link ControlChannel} ({@link MigrationSource} documents the order). A
 * frame is: u32 length of what follows, u8 type, the payload, u32 CRC-32C of type and payload; big-endian. Every
 * frame is a {@link Message}, encoded and decoded here and nowhere else.
 *
 * <p>What arrives is hostile until proven otherwise: a frame's length is checked against the
 * {@link MigrationLimits} and the bytes the session may still receive before its body is allocated, every inner
 * length against the frame's remaining bytes (and the limits) before anything is built from it, and a payload must
 * end where its last field does; anything else is a protocol error ({@link MigrationException}). Every wait ends at
 * the session's one deadline, however the other side paces its bytes.
 */
final class MigrationWire implements AutoCloseable {
    static final byte[] MAGIC = "KDMIGRAT".getBytes(StandardCharsets.US_ASCII);
    static final int VERSION = 1;
    /** The longest reason an ABORT or VERDICT carries (longer ones are cut). */
    static final int MAX_REASON_CHARS = 2000;

    /** Frames batched until a flush: a migration of thousands of connections is a few writes, not thousands. */
    private static final int BATCH = 1 << 16;
    /** Frame bodies longer than this are received into native memory (GC-managed) rather than the heap. */
    private static final int NATIVE_BODY = 4096;

    /** The frame types, with their codes on the wire. */
    enum FrameType {
        HELLO(1), WELCOME(2), IMAGE(3), VERDICT(4), RELEASED(5), COMMIT(6), ABORT(7), DONE(8);

        final byte code;

        FrameType(int code) {
            this.code = (byte) code;
        }

        static FrameType of(byte code) throws MigrationException {
            for (FrameType t : values()) {
                if (t.code == code) {
                    return t;
                }
            }
            throw new MigrationException("protocol error: unknown frame type " + code);
        }
    }

    /** One frame's content. */
    sealed interface Message {
    }

    /** Source: who it is, the order it runs (same namespace or not) and how many IMAGEs follow. */
    record Hello(MigrationMode mode, int count) implements Message {
    }

    /** Target: it speaks this version. */
    record Welcome(int version) implements Message {
    }

    /**
     * Source: connection {@code index}'s image ({@link ConnectionImage}) and its application state. The image is the
     * parts a gathering write takes (the source's: the queues' views where the checkpoint peeked them); one
     * received is one slice of its frame.
     */
    record Image(int index, List<MemorySegment> image, byte[] attachment) implements Message {
        /** An image in one array. */
        Image(int index, byte[] image, byte[] attachment) {
            this(index, List.of(MemorySegment.ofArray(image)), attachment);
        }

        /** The image in one segment (received: its frame's slice; sent: the parts copied together). */
        MemorySegment whole() {
            return image.size() == 1 ? image.getFirst() : MemorySegment.ofArray(ConnectionImage.joined(image));
        }
    }

    /** Target: what became of connection {@code index}. */
    record Verdict(int index, Code code, String reason) implements Message {
        /** The verdicts, with their codes on the wire. */
        enum Code {
            /** The image is valid (same namespace, before the source releases). */
            VALID,
            /** The image was refused; nothing was restored. */
            REFUSED,
            /** Restored here, held in repair mode until COMMIT. */
            RESTORED,
            /** The restore failed here. */
            FAILED
        }
    }

    /** Source (same namespace): these connections are released there, restore them now. */
    record Released(int[] indices) implements Message {
    }

    /** Source: the point of no return; the target thaws what it restored. */
    record Commit() implements Message {
    }

    /** Target: this many connections are now live here; it closes the session. */
    record Done(int live) implements Message {
    }

    /** Either side: the session ends without COMMIT, for this reason; the target releases what it restored. */
    record Abort(String reason) implements Message {
        /** The ABORT for what went wrong. */
        static Abort of(Throwable failure) {
            return new Abort(reasonOf(failure));
        }
    }

    private final ControlChannel channel;
    private final MigrationLimits limits;
    private long received;
    private ByteBuffer outbound = ByteBuffer.allocate(BATCH);
    /** Bytes read ahead of the frame being parsed (read mode): one read takes in many frames. */
    private final ByteBuffer inbound = ByteBuffer.allocate(BATCH).flip();

    /** A session on {@code channel}, which holds its deadline. */
    MigrationWire(ControlChannel channel, MigrationLimits limits) {
        this.channel = channel;
        this.limits = limits;
    }

    /**
     * A session on a connected socket, its bytes as they are, that ends at {@code deadline} (System.nanoTime),
     * {@code timeoutMillis} after it began (for messages).
     */
    MigrationWire(SocketChannel channel, long deadline, long timeoutMillis, MigrationLimits limits)
            throws IOException {
        this(new ControlChannel(channel, deadline, timeoutMillis), limits);
    }

    /**
     * Sends a frame. IMAGE and VERDICT frames, which come by the thousand, wait in a batch until a flush, which
     * every other frame and every {@link #receive} do: a frame the other side must answer, and
     * COMMIT, whose delivery decides who owns the connections, are written before this returns.
     */
    void send(Message message) throws IOException {
        ByteBuffer[] parts = frameParts(message);
        long length = remaining(parts);
        if (outbound.remaining() < length) {
            flush();
        }
        if (length > outbound.capacity()) {
            channel.write(parts); // a frame larger than a batch goes out gathered, its queues from where they are
        } else {
            for (ByteBuffer part : parts) {
                outbound.put(part);
            }
        }
        if (!(message instanceof Image || message instanceof Verdict)) {
            flush();
        }
    }

    private static long remaining(ByteBuffer[] parts) {
        long length = 0;
        for (ByteBuffer part : parts) {
            length += part.remaining();
        }
        return length;
    }

    /** Sends an ABORT if the other side still listens (it will see the session close either way). */
    void abort(Abort abort) {
        try {
            send(abort);
        } catch (IOException | RuntimeException gone) {
            // the other side is gone or will see the session close
        }
    }

    /**
     * Writes every batched frame. When the other side has closed the session, the ABORT it sent first (if it did)
     * names the reason, rather than the broken pipe.
     */
    void flush() throws IOException {
        outbound.flip();
        try {
            channel.write(outbound);
        } catch (IOException e) {
            Abort abort = pendingAbort();
            throw abort == null ? e : new MigrationException("the other side aborted: " + abort.reason(), e);
        } finally {
            outbound.compact();
        }
    }

    /** An ABORT among the frames that have already arrived, without waiting; null when there is none. */
    private Abort pendingAbort() {
        try {
            inbound.compact();
            try {
                while (inbound.hasRemaining() && channel.readNow(inbound) > 0) {
                    // take in what the other side sent before it closed
                }
            } finally {
                inbound.flip();
            }
        } catch (IOException | RuntimeException closed) {
            // what arrived is in the buffer all the same
        }
        while (inbound.remaining() >= 4) {
            long length = Integer.toUnsignedLong(inbound.getInt(inbound.position()));
            if (length < 5 || length > inbound.remaining() - 4) {
                return null;
            }
            ByteBuffer body = inbound.slice(inbound.position() + 4, (int) length);
            inbound.position(inbound.position() + 4 + (int) length);
            try {
                if (decodeFrame(body, limits) instanceof Abort abort) {
                    return abort;
                }
            } catch (MigrationException garbled) {
                return null;
            }
        }
        return null;
    }

    /** The next frame (after flushing what waits to be sent). */
    Message receive() throws IOException {
        flush();
        fill(4);
        long length = Integer.toUnsignedLong(inbound.getInt());
        if (length < 5 || length > limits.maxFrameBytes()) {
            throw new MigrationException("protocol error: a frame of " + length + " bytes (at most "
                    + limits.maxFrameBytes() + "; corrupted in transit, or not a kdirect migration peer)");
        }
        received += 4 + length;
        if (received > limits.maxSessionBytes()) {
            throw new MigrationException("protocol error: the session exceeds its limit of "
                    + limits.maxSessionBytes() + " bytes");
        }
        // a large frame (an image with its queues) is read into native memory, where the restore sends from
        ByteBuffer body = length > NATIVE_BODY ? Arena.ofAuto().allocate(length).asByteBuffer()
                : ByteBuffer.allocate((int) length);
        if (length <= inbound.capacity()) {
            fill((int) length); // small frames come in batches: read ahead
        }
        int ahead = Math.min(inbound.remaining(), body.capacity());
        body.put(inbound.slice(inbound.position(), ahead));
        inbound.position(inbound.position() + ahead);
        while (body.hasRemaining()) {
            channel.read(body); // a large frame goes straight into its body
        }
        return decodeFrame(body.flip(), limits);
    }

    /** The next frame, which must be a {@code type} (an ABORT is reported with its reason). */
    <M extends Message> M expect(Class<M> type) throws IOException {
        Message m = receive();
        if (m instanceof Abort abort) {
            throw new MigrationException("the other side aborted: " + abort.reason());
        }
        if (!type.isInstance(m)) {
            throw new MigrationException("protocol error: expected " + type.getSimpleName() + ", got "
                    + m.getClass().getSimpleName());
        }
        return type.cast(m);
    }

    /** Waits until the other side closes the session (it has finished cleaning up), at most until the deadline. */
    void awaitEnd() {
        try {
            while (true) {
                receive();
            }
        } catch (IOException | RuntimeException ended) {
            // closed, or gave up waiting: either way the session is over
        }
    }

    /** {@code message} as a whole frame, its length first, ready to write. */
    static ByteBuffer frame(Message message) {
        return joined(frameParts(message));
    }

    /** The buffers' remaining bytes in one buffer (read mode). */
    private static ByteBuffer joined(ByteBuffer[] parts) {
        ByteBuffer joined = ByteBuffer.allocate(Math.toIntExact(remaining(parts)));
        for (ByteBuffer part : parts) {
            joined.put(part);
        }
        return joined.flip();
    }

    /**
     * {@code message} as a frame in parts for a gathering write: the length and type, the payload (an IMAGE's
     * image parts as they are), the CRC-32C computed over the parts.
     */
    static ByteBuffer[] frameParts(Message message) {
        FrameType type = typeOf(message);
        ByteBuffer[] payload = message instanceof Image i ? imageParts(i) : new ByteBuffer[] {encode(message)};
        CRC32C crc = new CRC32C();
        crc.update(type.code);
        for (ByteBuffer part : payload) {
            crc.update(part.duplicate());
        }
        long length = 1 + remaining(payload) + 4;
        if (length > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a frame of " + length + " bytes: more than its 32-bit length holds");
        }
        ByteBuffer[] parts = new ByteBuffer[payload.length + 2];
        parts[0] = ByteBuffer.allocate(5).putInt((int) length).put(type.code).flip();
        System.arraycopy(payload, 0, parts, 1, payload.length);
        parts[parts.length - 1] = ByteBuffer.allocate(4).putInt((int) crc.getValue()).flip();
        return parts;
    }

    /** An IMAGE's payload: index and image length, the image's parts (no copy), the attachment. */
    private static ByteBuffer[] imageParts(Image i) {
        List<ByteBuffer> parts = new ArrayList<>();
        parts.add(ByteBuffer.allocate(8).putInt(i.index()).putInt(Math.toIntExact(ConnectionImage.length(i.image())))
                .flip());
        for (MemorySegment part : i.image()) {
            parts.add(part.asByteBuffer());
        }
        parts.add(putBytes(ByteBuffer.allocate(4 + i.attachment().length), i.attachment()).flip());
        return parts.toArray(ByteBuffer[]::new);
    }

    /**
     * The message in a frame's body (type, payload, CRC: what follows its length); a bad checksum, an unknown type
     * or a payload that does not decode is a protocol error.
     */
    static Message decodeFrame(ByteBuffer body, MigrationLimits limits) throws MigrationException {
        int length = body.remaining();
        if (length < 5) {
            throw new MigrationException("protocol error: a frame of " + length + " bytes");
        }
        CRC32C crc = new CRC32C();
        crc.update(body.slice(body.position(), length - 4));
        if ((int) crc.getValue() != body.getInt(body.position() + length - 4)) {
            throw new MigrationException("protocol error: a frame of type " + body.get(body.position())
                    + " fails its CRC-32C (corrupted in transit)");
        }
        FrameType type = FrameType.of(body.get(body.position()));
        return decode(type, body.slice(body.position() + 1, length - 5), limits);
    }

    static FrameType typeOf(Message message) {
        return switch (message) {
            case Hello h -> FrameType.HELLO;
            case Welcome w -> FrameType.WELCOME;
            case Image i -> FrameType.IMAGE;
            case Verdict v -> FrameType.VERDICT;
            case Released r -> FrameType.RELEASED;
            case Commit c -> FrameType.COMMIT;
            case Done d -> FrameType.DONE;
            case Abort a -> FrameType.ABORT;
        };
    }

    /** The payload of {@code message} (read mode). */
    static ByteBuffer encode(Message message) {
        return switch (message) {
            case Hello h -> ByteBuffer.allocate(MAGIC.length + 7).put(MAGIC).putShort((short) VERSION)
                    .put((byte) (h.mode() == MigrationMode.SAME_NAMESPACE ? 0 : 1)).putInt(h.count()).flip();
            case Welcome w -> ByteBuffer.allocate(2).putShort((short) w.version()).flip();
            case Image i -> joined(imageParts(i));
            case Verdict v -> {
                byte[] reason = text(v.reason());
                yield putBytes(ByteBuffer.allocate(9 + reason.length).putInt(v.index())
                        .put((byte) (v.code().ordinal() + 1)), reason).flip();
            }
            case Released r -> {
                ByteBuffer b = ByteBuffer.allocate(4 + 4 * r.indices().length).putInt(r.indices().length);
                for (int index : r.indices()) {
                    b.putInt(index);
                }
                yield b.flip();
            }
            case Commit c -> ByteBuffer.allocate(0);
            case Done d -> ByteBuffer.allocate(4).putInt(d.live()).flip();
            case Abort a -> {
                byte[] reason = text(a.reason());
                yield putBytes(ByteBuffer.allocate(4 + reason.length), reason).flip();
            }
        };
    }

    /** The message a payload of {@code type} holds; one that does not decode exactly is a protocol error. */
    static Message decode(FrameType type, ByteBuffer payload, MigrationLimits limits) throws MigrationException {
        try {
            Message m = switch (type) {
                case HELLO -> hello(payload, limits);
                case WELCOME -> {
                    int version = payload.getShort() & 0xffff;
                    if (version != VERSION) {
                        throw new MigrationException("the target speaks protocol version " + version
                                + ", this source " + VERSION + ": run the same kdirect on both sides");
                    }
                    yield new Welcome(version);
                }
                case IMAGE -> new Image(payload.getInt(),
                        List.of(getSlice(payload, "image", limits.maxImageBytes())),
                        getBytes(payload, "attachment", limits.maxAttachmentBytes()));
                case VERDICT -> {
                    int index = payload.getInt();
                    int code = payload.get();
                    if (code < 1 || code > Verdict.Code.values().length) {
                        throw new MigrationException("protocol error: verdict code " + code);
                    }
                    yield new Verdict(index, Verdict.Code.values()[code - 1], getText(payload));
                }
                case RELEASED -> {
                    int n = payload.getInt();
                    if (n < 0 || n > payload.remaining() / 4 || n > limits.maxImages()) {
                        throw new MigrationException("protocol error: RELEASED claims " + Integer.toUnsignedString(n)
                                + " connections in " + payload.remaining() + " bytes");
                    }
                    int[] indices = new int[n];
                    for (int k = 0; k < n; k++) {
                        indices[k] = payload.getInt();
                    }
                    yield new Released(indices);
                }
                case COMMIT -> new Commit();
                case DONE -> new Done(payload.getInt());
                case ABORT -> new Abort(getText(payload));
            };
            if (payload.hasRemaining()) {
                throw new MigrationException("protocol error: " + payload.remaining() + " bytes after the end of a "
                        + type);
            }
            return m;
        } catch (BufferUnderflowException e) {
            throw new MigrationException("protocol error: a " + type + " frame ends inside a field");
        }
    }

    private static Hello hello(ByteBuffer payload, MigrationLimits limits) throws MigrationException {
        byte[] magic = new byte[MAGIC.length];
        payload.get(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new MigrationException("not a kdirect migration source (wrong magic)");
        }
        int version = payload.getShort() & 0xffff;
        if (version != VERSION) {
            throw new MigrationException("the source speaks protocol version " + version + ", this target "
                    + VERSION + ": run the same kdirect on both sides");
        }
        int mode = payload.get();
        if (mode != 0 && mode != 1) {
            throw new MigrationException("protocol error: migration mode " + mode);
        }
        int count = payload.getInt();
        if (count < 0 || count > limits.maxImages()) {
            throw new MigrationException("the source would send " + Integer.toUnsignedString(count)
                    + " connections; this target takes at most " + limits.maxImages() + " per session");
        }
        return new Hello(mode == 0 ? MigrationMode.SAME_NAMESPACE : MigrationMode.SEPARATE_NAMESPACES, count);
    }

    /** A u32 length and that many bytes, the length checked against {@code max} and the payload first. */
    private static byte[] getBytes(ByteBuffer b, String what, int max) throws MigrationException {
        return getSlice(b, what, max).toArray(ValueLayout.JAVA_BYTE);
    }

    /** {@link #getBytes} as a slice of the frame's memory: no copy. */
    private static MemorySegment getSlice(ByteBuffer b, String what, int max) throws MigrationException {
        int length = b.getInt();
        if (length < 0 || length > b.remaining() || length > max) {
            throw new MigrationException("protocol error: the " + what + " claims "
                    + Integer.toUnsignedString(length) + " bytes; " + b.remaining() + " remain in the frame, the"
                    + " limit is " + max);
        }
        MemorySegment bytes = MemorySegment.ofBuffer(b.slice(b.position(), length));
        b.position(b.position() + length);
        return bytes;
    }

    private static String getText(ByteBuffer b) throws MigrationException {
        return new String(getBytes(b, "reason", 4 * MAX_REASON_CHARS), StandardCharsets.UTF_8);
    }

    private static ByteBuffer putBytes(ByteBuffer b, byte[] bytes) {
        return b.putInt(bytes.length).put(bytes);
    }

    private static byte[] text(String reason) {
        String cut = reason.length() > MAX_REASON_CHARS ? reason.substring(0, MAX_REASON_CHARS) : reason;
        return cut.getBytes(StandardCharsets.UTF_8);
    }

    /** What to tell the other side (and the report) about a failure. */
    static String reasonOf(Throwable failure) {
        return failure instanceof Error || failure.getMessage() == null ? failure.toString() : failure.getMessage();
    }

    /** Makes sure {@code n} unparsed bytes wait in the inbound buffer (n at most its capacity). */
    private void fill(int n) throws IOException {
        if (inbound.remaining() >= n) {
            return;
        }
        inbound.compact();
        try {
            while (inbound.position() < n) {
                channel.read(inbound);
            }
        } finally {
            inbound.flip();
        }
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
