package dev.kdirect.tcprepair;

import dev.kdirect.tcprepair.InvalidImageException.Reason;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.GatheringByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The binary image of a {@link ConnectionState}, version 1, big-endian (network order):
 *
 * <pre>
 *  offset  size  field
 *   0       8    magic "KDTCPIMG"
 *   8       2    format version (1)
 *  10       2    reserved, 0 (anything else is refused)
 *  12       4    total length of the image, checksum included
 *  16       1    IP version (4 or 6)
 *  17     4|16   local address, then 2: local port
 *   ..    4|16   remote address, then 2: remote port
 *   ..      4    send sequence (TCP_QUEUE_SEQ, send queue)        4: receive sequence (rcv_nxt)
 *   ..      2    MSS clamp   1: send wscale   1: receive wscale   1: option bits (1 SACK, 2 timestamps)
 *   ..      4    timestamp (TCP_TIMESTAMP)
 *   ..     20    repair window: snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup
 *   ..      4    SO_SNDBUF   4: SO_RCVBUF   1: flag bits (1 SO_REUSEADDR, 2 TCP_NODELAY, 4 SO_KEEPALIVE)
 *   ..   4 + n   receive queue (length, bytes); the same for sent-but-unacknowledged, then unsent
 *  end-4    4    CRC-32C of every byte before it
 * </pre>
 *
 * {@link #read} checks, in this order, the length of the header, the magic, the version, the declared length
 * against the bytes given, the checksum, then every field, and builds nothing from an image that fails. The CRC
 * only detects accidents: a forger computes it too, so the fields are checked as hostile input. An image is
 * INVALID_FIELD when the reserved bytes are not 0, an address is unspecified (0.0.0.0, ::) or IPv4-mapped
 * (::ffff:a.b.c.d, which an IPv6 image cannot carry: the kernel would see an IPv4 peer), a port is 0, the MSS clamp
 * is 0, or a buffer size exceeds what this kernel gives any socket ({@link KernelBuffers}).
 */
public final class ConnectionImage {
    /** The format version this kdirect writes and reads. */
    public static final int VERSION = 1;
    static final byte[] MAGIC = "KDTCPIMG".getBytes(StandardCharsets.US_ASCII);
    static final int HEADER = 16;
    private static final int CHECKSUM = 4;
    /** An image's size without its queue bytes, at most (IPv6). */
    static final int MAX_FIXED_BYTES = HEADER + 1 + 2 * (16 + 2) + 8 + 5 + 4 + 20 + 9 + 12 + CHECKSUM;
    private static final int SACK = 1;
    private static final int TIMESTAMPS = 2;
    private static final int REUSE_ADDRESS = 1;
    private static final int NO_DELAY = 2;
    private static final int KEEP_ALIVE = 4;
    private static final byte[] IPV4_MAPPED = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff};

    private ConnectionImage() {
    }

    /** The image of a state, in one array (a copy of the queues; {@link #write(ConnectionState,
     * GatheringByteChannel)} writes them from where they are). */
    public static byte[] write(ConnectionState s) {
        return joined(parts(s));
    }

    /**
     * Writes the image of a state to {@code out} (a blocking channel: a file, a blocking socket) with gathering
     * writes: the queues go from their views (the native
     * memory a checkpoint peeked them into), never copied on the heap.
     *
     * @return the image's length in bytes
     */
    public static long write(ConnectionState s, GatheringByteChannel out) throws IOException {
        List<MemorySegment> parts = parts(s);
        ByteBuffer[] buffers = parts.stream().map(MemorySegment::asByteBuffer).toArray(ByteBuffer[]::new);
        long length = length(parts);
        for (long written = 0; written < length; ) {
            written += out.write(buffers);
        }
        return length;
    }

    /**
     * The image as the parts a gathering write takes, in order: the fields and the receive queue's length, the
     * three queues' read-only views each after its length, and the CRC-32C, computed over the parts where they
     * are.
     */
    static List<MemorySegment> parts(ConnectionState s) {
        int addressBytes = s.ipVersion() == 4 ? 4 : 16;
        MemorySegment received = s.receiveQueueView();
        MemorySegment sent = s.sentUnacknowledgedView();
        MemorySegment unsent = s.unsentView();
        long length = HEADER + 1 + 2 * (addressBytes + 2) + 8 + 5 + 4 + 20 + 9 + 12 + received.byteSize()
                + sent.byteSize() + unsent.byteSize() + CHECKSUM;
        if (length > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a state with " + (length - CHECKSUM) + " bytes cannot be imaged:"
                    + " the image's length is a 32-bit field");
        }
        ByteBuffer b = ByteBuffer.allocate(HEADER + 1 + 2 * (addressBytes + 2) + 8 + 5 + 4 + 20 + 9 + 4);
        b.put(MAGIC).putShort((short) VERSION).putShort((short) 0).putInt((int) length);
        b.put((byte) s.ipVersion());
        putAddress(b, s.local());
        putAddress(b, s.remote());
        b.putInt(s.sendSequence()).putInt(s.receiveSequence());
        ConnectionState.TcpOptions o = s.options();
        b.putShort((short) o.mssClamp()).put((byte) o.sendWindowScale()).put((byte) o.receiveWindowScale())
                .put((byte) ((o.sackPermitted() ? SACK : 0) | (o.timestamps() ? TIMESTAMPS : 0))).putInt(o.timestamp());
        ConnectionState.RepairWindow w = s.window();
        b.putInt(w.sendWl1()).putInt(w.sendWindow()).putInt(w.maxWindow()).putInt(w.receiveWindow())
                .putInt(w.receiveWup());
        ConnectionState.SocketOptions so = s.socketOptions();
        b.putInt(so.sendBuffer()).putInt(so.receiveBuffer()).put((byte) ((so.reuseAddress() ? REUSE_ADDRESS : 0)
                | (so.noDelay() ? NO_DELAY : 0) | (so.keepAlive() ? KEEP_ALIVE : 0)));
        b.putInt((int) received.byteSize());
        List<MemorySegment> parts = new ArrayList<>(List.of(MemorySegment.ofArray(b.array()), received,
                lengthOf(sent), sent, lengthOf(unsent), unsent));
        CRC32C crc = new CRC32C();
        for (MemorySegment part : parts) {
            crc.update(part.asByteBuffer());
        }
        parts.add(MemorySegment.ofArray(ByteBuffer.allocate(CHECKSUM).putInt((int) crc.getValue()).array()));
        return parts;
    }

    private static MemorySegment lengthOf(MemorySegment queue) {
        return MemorySegment.ofArray(ByteBuffer.allocate(4).putInt((int) queue.byteSize()).array());
    }

    /** The parts' bytes in one array, in order. */
    static byte[] joined(List<MemorySegment> parts) {
        MemorySegment joined = MemorySegment.ofArray(new byte[Math.toIntExact(length(parts))]);
        long at = 0;
        for (MemorySegment part : parts) {
            MemorySegment.copy(part, 0, joined, at, part.byteSize());
            at += part.byteSize();
        }
        return (byte[]) joined.heapBase().orElseThrow();
    }

    /** The bytes of all parts. */
    static long length(List<MemorySegment> parts) {
        long length = 0;
        for (MemorySegment part : parts) {
            length += part.byteSize();
        }
        return length;
    }

    /**
     * The state an image holds.
     *
     * @throws InvalidImageException naming what is wrong (truncated, corrupted, foreign, a future version, or a
     *     field out of range)
     */
    public static ConnectionState read(byte[] image) throws InvalidImageException {
        return read(image, KernelBuffers.current());
    }

    /**
     * The state an image in memory holds, checked as {@link #read(byte[])}; its queue views are slices of
     * {@code image} (no copy), valid as long as it is, which must not change while the state is used.
     *
     * @throws InvalidImageException as {@link #read(byte[])}
     */
    public static ConnectionState read(MemorySegment image) throws InvalidImageException {
        return read(image, KernelBuffers.current());
    }

    /** {@link #read}, with the buffer maxima of a given kernel; the state's queues are copies. */
    static ConnectionState read(byte[] image, KernelBuffers kernel) throws InvalidImageException {
        return read(MemorySegment.ofArray(image.clone()), kernel);
    }

    /** {@link #read(MemorySegment)}, with the buffer maxima of a given kernel. */
    static ConnectionState read(MemorySegment segment, KernelBuffers kernel) throws InvalidImageException {
        if (segment.byteSize() > Integer.MAX_VALUE) {
            throw new InvalidImageException(Reason.CORRUPTED, "the image has " + segment.byteSize() + " bytes: more"
                    + " than any image's 32-bit length field can declare");
        }
        int length = (int) segment.byteSize();
        long magicMismatch = MemorySegment.mismatch(segment, 0, Math.min(length, MAGIC.length),
                MemorySegment.ofArray(MAGIC), 0, Math.min(length, MAGIC.length));
        if (length < MAGIC.length || magicMismatch != -1) {
            if (length < MAGIC.length && magicMismatch == -1) {
                throw new InvalidImageException(Reason.TRUNCATED, "the image ends after " + length + " bytes,"
                        + " inside its magic: it was cut off");
            }
            throw new InvalidImageException(Reason.FOREIGN, "not a kdirect TCP connection image (no \"KDTCPIMG\""
                    + " magic at offset 0): check that the right file or message was passed");
        }
        if (length < HEADER) {
            throw new InvalidImageException(Reason.TRUNCATED, "the image ends after " + length + " bytes, inside"
                    + " its " + HEADER + "-byte header: it was cut off");
        }
        ByteBuffer b = segment.asByteBuffer().order(ByteOrder.BIG_ENDIAN);
        int version = b.getShort(8) & 0xffff;
        if (version > VERSION) {
            throw new InvalidImageException(Reason.FUTURE_VERSION, "the image has format version " + version
                    + ", written by a newer kdirect; this one reads version " + VERSION + ": restore it with that"
                    + " kdirect or newer");
        }
        if (version < 1) {
            throw new InvalidImageException(Reason.CORRUPTED, "the image's format version is 0, which no kdirect"
                    + " writes: it was changed after it was written");
        }
        long declared = Integer.toUnsignedLong(b.getInt(12));
        if (declared > length) {
            throw new InvalidImageException(Reason.TRUNCATED, "the image declares " + declared + " bytes but only "
                    + length + " arrived: it was cut off");
        }
        if (declared < length) {
            throw new InvalidImageException(Reason.CORRUPTED, "the image declares " + declared + " bytes but "
                    + length + " were given: extra bytes follow it, or its length field was changed");
        }
        if (declared < HEADER + CHECKSUM || checksum(b, length - CHECKSUM) != b.getInt(length - 4)) {
            throw new InvalidImageException(Reason.CORRUPTED, "the image's CRC-32C does not match its bytes: it was"
                    + " changed after it was written; take a new checkpoint");
        }
        try {
            if (b.getShort(10) != 0) {
                throw new IllegalArgumentException("the reserved bytes at offset 10 hold 0x"
                        + Integer.toHexString(b.getShort(10) & 0xffff) + ", not 0");
            }
            return fields(segment, b.position(HEADER).limit(length - CHECKSUM), kernel);
        } catch (BufferUnderflowException | IllegalArgumentException e) {
            throw new InvalidImageException(Reason.INVALID_FIELD, "the image is intact but holds no valid connection: "
                    + (e.getMessage() == null ? "a field runs past its end" : e.getMessage()));
        }
    }

    private static ConnectionState fields(MemorySegment image, ByteBuffer b, KernelBuffers kernel) {
        int ipVersion = b.get();
        if (ipVersion != 4 && ipVersion != 6) {
            throw new IllegalArgumentException("IP version " + ipVersion + " (4 or 6)");
        }
        int addressBytes = ipVersion == 4 ? 4 : 16;
        InetSocketAddress local = getAddress(b, addressBytes);
        InetSocketAddress remote = getAddress(b, addressBytes);
        int sendSequence = b.getInt();
        int receiveSequence = b.getInt();
        int mss = b.getShort() & 0xffff;
        if (mss == 0) {
            throw new IllegalArgumentException("MSS clamp 0: no TCP connection has it");
        }
        int sendScale = b.get();
        int receiveScale = b.get();
        int optionBits = b.get();
        if ((optionBits & ~(SACK | TIMESTAMPS)) != 0) {
            throw new IllegalArgumentException("unknown option bits 0x" + Integer.toHexString(optionBits & 0xff));
        }
        var options = new ConnectionState.TcpOptions(mss, sendScale, receiveScale, (optionBits & SACK) != 0,
                (optionBits & TIMESTAMPS) != 0, b.getInt());
        var window = new ConnectionState.RepairWindow(b.getInt(), b.getInt(), b.getInt(), b.getInt(), b.getInt());
        int sendBuffer = b.getInt();
        int receiveBuffer = b.getInt();
        checkBuffer("SO_SNDBUF", sendBuffer, kernel.sendMax());
        checkBuffer("SO_RCVBUF", receiveBuffer, kernel.receiveMax());
        int flags = b.get();
        if ((flags & ~(REUSE_ADDRESS | NO_DELAY | KEEP_ALIVE)) != 0) {
            throw new IllegalArgumentException("unknown socket flag bits 0x" + Integer.toHexString(flags & 0xff));
        }
        var socketOptions = new ConnectionState.SocketOptions(sendBuffer, receiveBuffer, (flags & REUSE_ADDRESS) != 0,
                (flags & NO_DELAY) != 0, (flags & KEEP_ALIVE) != 0);
        MemorySegment receiveQueue = queue(image, b, "receive queue");
        MemorySegment sent = queue(image, b, "sent-unacknowledged queue");
        MemorySegment unsent = queue(image, b, "unsent queue");
        if (b.hasRemaining()) {
            throw new IllegalArgumentException(b.remaining() + " bytes after the last queue");
        }
        return new ConnectionState(local, remote, sendSequence, receiveSequence, receiveQueue, sent, unsent, options,
                window, socketOptions);
    }

    private static void putAddress(ByteBuffer b, InetSocketAddress address) {
        b.put(address.getAddress().getAddress()).putShort((short) address.getPort());
    }

    private static void checkBuffer(String option, int size, int kernelMax) {
        if (Integer.toUnsignedLong(size) > kernelMax) {
            throw new IllegalArgumentException(option + " " + Integer.toUnsignedString(size) + " exceeds this"
                    + " kernel's largest buffer, " + kernelMax + " (net.ipv4.tcp_*mem, net.core.*mem_max)");
        }
    }

    private static InetSocketAddress getAddress(ByteBuffer b, int bytes) {
        byte[] raw = new byte[bytes];
        b.get(raw);
        if (Arrays.equals(raw, new byte[bytes])) {
            throw new IllegalArgumentException("an unspecified address (" + (bytes == 4 ? "0.0.0.0" : "::")
                    + "): a connection has a concrete address at both ends");
        }
        if (bytes == 16 && Arrays.equals(raw, 0, 12, IPV4_MAPPED, 0, 12)) {
            throw new IllegalArgumentException("an IPv4-mapped address (::ffff:" + (raw[12] & 0xff) + "."
                    + (raw[13] & 0xff) + "." + (raw[14] & 0xff) + "." + (raw[15] & 0xff) + ") in an IPv6 image: an"
                    + " IPv4 connection has an IPv4 image");
        }
        return new InetSocketAddress(ConnectionState.addressOf(raw), b.getShort() & 0xffff);
    }

    /** A queue's length and bytes: a slice of the image, its length checked against what remains first. */
    private static MemorySegment queue(MemorySegment image, ByteBuffer b, String what) {
        int length = b.getInt();
        if (length < 0 || length > b.remaining()) {
            throw new IllegalArgumentException("the " + what + " claims " + Integer.toUnsignedString(length)
                    + " bytes; " + b.remaining() + " remain");
        }
        MemorySegment bytes = image.asSlice(b.position(), length);
        b.position(b.position() + length);
        return bytes;
    }

    private static int checksum(ByteBuffer image, int length) {
        CRC32C crc = new CRC32C();
        crc.update(image.slice(0, length));
        return (int) crc.getValue();
    }
}
