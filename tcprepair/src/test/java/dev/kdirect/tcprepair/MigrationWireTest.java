package dev.kdirect.tcprepair;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.kdirect.tcprepair.MigrationWire.Message;
import java.net.StandardProtocolFamily;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/**
 * The migration wire's decoders get {@link ConnectionImageTest}'s treatment: every message round trips; every
 * prefix of every payload is a protocol error; every single bit flipped and the frame re-signed with a valid CRC
 * (as a forger would) decodes to some message or is a protocol error, never anything else; every inner length made
 * hostile (up to 2^31-1 and beyond) is refused before it is allocated; frames and sessions beyond the limits are
 * refused on the socket before their bodies are read.
 */
class MigrationWireTest {
    /** Small limits, so that a length a little past them is as hostile as 2^31-1. */
    private static final MigrationLimits LIMITS = new MigrationLimits(8192, 2048, 512, 16, 1 << 16);

    private static List<Message> samples() {
        byte[] image = ConnectionImage.write(ConnectionImageTest.state("127.0.0.1", "127.0.0.2", 1));
        return List.of(new MigrationWire.Hello(MigrationMode.SAME_NAMESPACE, 3),
                new MigrationWire.Hello(MigrationMode.SEPARATE_NAMESPACES, 16),
                new MigrationWire.Welcome(MigrationWire.VERSION),
                new MigrationWire.Image(7, image, "state".getBytes(StandardCharsets.US_ASCII)),
                new MigrationWire.Verdict(7, MigrationWire.Verdict.Code.FAILED, "EADDRNOTAVAIL é"),
                new MigrationWire.Released(new int[] {0, 2, 5}), new MigrationWire.Commit(), new MigrationWire.Done(3),
                new MigrationWire.Abort("the other side hangs"));
    }

    @Test
    void everyMessageRoundTrips() throws Exception {
        for (Message m : samples()) {
            byte[] body = body(m);
            Message decoded = MigrationWire.decodeFrame(ByteBuffer.wrap(body), LIMITS);
            assertThat(decoded.getClass()).isEqualTo(m.getClass());
            assertThat(body(decoded)).as("%s", m).isEqualTo(body);
        }
    }

    @Test
    void everyPrefixOfEveryPayloadIsAProtocolError() {
        for (Message m : samples()) {
            ByteBuffer payload = MigrationWire.encode(m);
            for (int n = 0; n < payload.remaining(); n++) {
                ByteBuffer prefix = payload.slice(0, n);
                int length = n;
                assertThat(catchThrowable(() -> MigrationWire.decode(MigrationWire.typeOf(m), prefix, LIMITS)))
                        .as("%s cut after %d bytes", MigrationWire.typeOf(m), length)
                        .isInstanceOf(MigrationException.class);
            }
            byte[] body = body(m);
            for (int n = 0; n < body.length; n++) { // cut frames fail their CRC (or are too short)
                ByteBuffer cut = ByteBuffer.wrap(Arrays.copyOf(body, n));
                assertThat(catchThrowable(() -> MigrationWire.decodeFrame(cut, LIMITS)))
                        .isInstanceOf(MigrationException.class);
            }
        }
    }

    @Test
    void everyBitFlipResignedDecodesToAMessageOrIsAProtocolError() {
        for (Message m : samples()) {
            byte[] body = body(m);
            for (int i = 0; i < body.length - 4; i++) {
                for (int bit = 0; bit < 8; bit++) {
                    byte[] flipped = body.clone();
                    flipped[i] ^= (byte) (1 << bit);
                    Throwable t = catchThrowable(() -> MigrationWire.decodeFrame(ByteBuffer.wrap(resigned(flipped)),
                            LIMITS));
                    if (t != null) {
                        assertThat(t).as("%s, bit %d of byte %d", MigrationWire.typeOf(m), bit, i)
                                .isInstanceOf(MigrationException.class);
                    }
                }
            }
        }
    }

    @Test
    void hostileInnerLengthsAreRefusedBeforeAllocation() {
        byte[] image = ConnectionImage.write(ConnectionImageTest.state("127.0.0.1", "127.0.0.2", 0));
        var imageFrame = MigrationWire.encode(new MigrationWire.Image(1, image, new byte[3]));
        for (int hostile : new int[] {Integer.MAX_VALUE, -1, Integer.MIN_VALUE, LIMITS.maxImageBytes() + 1,
            imageFrame.remaining()}) {
            // the image's length, the attachment's, a verdict's reason, RELEASED's count, an ABORT's reason
            assertRefused(MigrationWire.FrameType.IMAGE, withInt(imageFrame, 4, hostile));
            assertRefused(MigrationWire.FrameType.IMAGE, withInt(imageFrame, 8 + image.length, hostile));
            assertRefused(MigrationWire.FrameType.VERDICT, withInt(MigrationWire.encode(
                    new MigrationWire.Verdict(1, MigrationWire.Verdict.Code.FAILED, "why")), 5, hostile));
            assertRefused(MigrationWire.FrameType.RELEASED, withInt(MigrationWire.encode(
                    new MigrationWire.Released(new int[] {1})), 0, hostile));
            assertRefused(MigrationWire.FrameType.ABORT, withInt(MigrationWire.encode(new MigrationWire.Abort("x")),
                    0, hostile));
            assertRefused(MigrationWire.FrameType.HELLO, withInt(MigrationWire.encode(
                    new MigrationWire.Hello(MigrationMode.SAME_NAMESPACE, 1)), 11, hostile));
        }
        assertThat(catchThrowable(() -> MigrationWire.decode(MigrationWire.FrameType.IMAGE, withInt(imageFrame, 4,
                Integer.MAX_VALUE), LIMITS))).hasMessageContaining("claims 2147483647 bytes");
        assertThat(catchThrowable(() -> MigrationWire.decode(MigrationWire.FrameType.HELLO, withInt(
                MigrationWire.encode(new MigrationWire.Hello(MigrationMode.SAME_NAMESPACE, 1)), 11, 10_000), LIMITS)))
                .hasMessageContaining("10000 connections; this target takes at most 16");
    }

    @Test
    void aFrameOrASessionBeyondTheLimitsIsRefusedBeforeItsBodyIsRead() throws Exception {
        Path dir = Files.createTempDirectory("kdirect-wire");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)
                .bind(java.net.UnixDomainSocketAddress.of(dir.resolve("w.sock")))) {
            for (int length : new int[] {Integer.MAX_VALUE, -1, LIMITS.maxFrameBytes() + 1, 4}) {
                try (SocketChannel out = SocketChannel.open(server.getLocalAddress());
                        MigrationWire in = wire(server.accept())) {
                    out.write(ByteBuffer.allocate(4).putInt(length).flip()); // the header alone: no body follows
                    assertThatThrownBy(in::receive).isInstanceOf(MigrationException.class)
                            .hasMessageContaining("a frame of " + Integer.toUnsignedString(length) + " bytes");
                }
            }
            try (SocketChannel out = SocketChannel.open(server.getLocalAddress());
                    MigrationWire in = wire(server.accept())) {
                ByteBuffer frame = MigrationWire.frame(new MigrationWire.Abort("x".repeat(2000)));
                int sent = 0;
                Throwable t = null;
                while (t == null) {
                    out.write(frame.duplicate());
                    sent += frame.remaining();
                    t = catchThrowable(in::receive);
                }
                assertThat(t).hasMessageContaining("the session exceeds its limit of 65536 bytes");
                assertThat((long) sent).isGreaterThan(LIMITS.maxSessionBytes()); // not a byte beyond was kept
            }
        } finally {
            Files.deleteIfExists(dir.resolve("w.sock"));
            Files.delete(dir);
        }
    }

    private static MigrationWire wire(SocketChannel channel) throws Exception {
        return new MigrationWire(channel, System.nanoTime() + 60_000_000_000L, 60_000, LIMITS);
    }

    private static void assertRefused(MigrationWire.FrameType type, ByteBuffer payload) {
        assertThat(catchThrowable(() -> MigrationWire.decode(type, payload, LIMITS))).as("%s", type)
                .isInstanceOf(MigrationException.class);
    }

    private static ByteBuffer withInt(ByteBuffer payload, int offset, int value) {
        ByteBuffer copy = ByteBuffer.allocate(payload.remaining()).put(payload.duplicate()).flip();
        return copy.putInt(offset, value);
    }

    /** A frame's body: what follows its length. */
    private static byte[] body(Message m) {
        ByteBuffer frame = MigrationWire.frame(m);
        byte[] body = new byte[frame.remaining() - 4];
        frame.position(4).get(body);
        return body;
    }

    private static byte[] resigned(byte[] body) {
        CRC32C crc = new CRC32C();
        crc.update(body, 0, body.length - 4);
        ByteBuffer.wrap(body).putInt(body.length - 4, (int) crc.getValue());
        return body;
    }
}
