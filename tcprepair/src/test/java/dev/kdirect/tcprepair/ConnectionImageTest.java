package dev.kdirect.tcprepair;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.kdirect.tcprepair.InvalidImageException.Reason;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/** The connection image: round trips, and every kind of bad image refused with its reason, nothing built. */
class ConnectionImageTest {

    static ConnectionState state(String local, String remote, int queued) {
        byte[] in = "received, not read yet".repeat(queued).getBytes(StandardCharsets.US_ASCII);
        return new ConnectionState(new InetSocketAddress(local, 40123), new InetSocketAddress(remote, 8080),
                0xfedcba98, 0x12345678, in, new byte[] {1, 2, 3}, "unsent tail".getBytes(StandardCharsets.US_ASCII),
                new ConnectionState.TcpOptions(1460, 7, 9, true, true, 0xdeadbeef),
                new ConnectionState.RepairWindow(0x12345000, 65535 << 7, 65535 << 7, 64240, 0x12345600),
                new ConnectionState.SocketOptions(2626560, 131072, true, true, false));
    }

    @Test
    void anIpv4AndAnIpv6StateRoundTrip() throws Exception {
        for (ConnectionState s : new ConnectionState[] {state("127.0.0.1", "127.0.0.2", 3),
            state("::1", "fd00::2", 0)}) {
            byte[] image = ConnectionImage.write(s);
            assertThat(ConnectionImage.read(image)).isEqualTo(s);
        }
        assertThat(ConnectionImage.read(ConnectionImage.write(state("::1", "::1", 0))).ipVersion()).isEqualTo(6);
    }

    @Test
    void eachOptionAndSocketFlagRoundTripsOnItsOwn() throws Exception {
        ConnectionState s = state("127.0.0.1", "127.0.0.2", 0);
        for (int bits = 0; bits < 8; bits++) {
            var options = new ConnectionState.TcpOptions(1460, 7, 9, (bits & 1) != 0, (bits & 2) != 0, 5);
            var socket = new ConnectionState.SocketOptions(4096, 8192, (bits & 1) != 0, (bits & 2) != 0,
                    (bits & 4) != 0);
            ConnectionState changed = new ConnectionState(s.local(), s.remote(), s.sendSequence(),
                    s.receiveSequence(), s.receiveQueue(), s.sentUnacknowledged(), s.unsent(), options, s.window(),
                    socket);
            assertThat(ConnectionImage.read(ConnectionImage.write(changed))).isEqualTo(changed);
        }
    }

    @Test
    void everyPrefixOfAnImageIsTruncatedAndNeverRestored() {
        byte[] image = ConnectionImage.write(state("127.0.0.1", "127.0.0.2", 1));
        for (int n = 0; n < image.length; n++) {
            byte[] prefix = java.util.Arrays.copyOf(image, n);
            InvalidImageException e = catchThrowableOfType(InvalidImageException.class,
                    () -> ConnectionImage.read(prefix));
            assertThat(e).as("prefix of %d bytes", n).isNotNull();
            assertThat(e.reason()).as("prefix of %d bytes", n).isEqualTo(Reason.TRUNCATED);
            assertThat(e).hasMessageContaining("cut off");
        }
    }

    @Test
    void everySingleBitFlipIsRefused() {
        byte[] image = ConnectionImage.write(state("127.0.0.1", "127.0.0.2", 1));
        for (int i = 0; i < image.length; i++) {
            for (int bit = 0; bit < 8; bit++) {
                byte[] flipped = image.clone();
                flipped[i] ^= (byte) (1 << bit);
                InvalidImageException e = catchThrowableOfType(InvalidImageException.class,
                        () -> ConnectionImage.read(flipped));
                assertThat(e).as("bit %d of byte %d", bit, i).isNotNull();
            }
        }
    }

    @Test
    void extraBytesAfterTheImageAreCorruption() {
        byte[] image = ConnectionImage.write(state("127.0.0.1", "127.0.0.2", 0));
        byte[] longer = java.util.Arrays.copyOf(image, image.length + 1);
        assertThat(catchThrowableOfType(InvalidImageException.class, () -> ConnectionImage.read(longer)).reason())
                .isEqualTo(Reason.CORRUPTED);
    }

    @Test
    void aForeignFileIsNamedAsSuch() {
        byte[] png = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0};
        InvalidImageException e = catchThrowableOfType(InvalidImageException.class, () -> ConnectionImage.read(png));
        assertThat(e.reason()).isEqualTo(Reason.FOREIGN);
        assertThat(e).hasMessageContaining("KDTCPIMG");
    }

    @Test
    void aFutureVersionAsksForANewerKdirect() {
        byte[] image = resealed(ConnectionImage.write(state("127.0.0.1", "127.0.0.2", 0)), b -> b.putShort(8, (short) 2));
        InvalidImageException e = catchThrowableOfType(InvalidImageException.class, () -> ConnectionImage.read(image));
        assertThat(e.reason()).isEqualTo(Reason.FUTURE_VERSION);
        assertThat(e).hasMessageContaining("version 2").hasMessageContaining("newer kdirect");
    }

    @Test
    void anIntactImageWithAnImpossibleFieldIsRefused() {
        byte[] good = ConnectionImage.write(state("127.0.0.1", "127.0.0.2", 0));
        int wscale = 16 + 1 + 2 * 6 + 8 + 2; // the send window scale byte of an IPv4 image
        byte[] badScale = resealed(good, b -> b.put(wscale, (byte) 15));
        InvalidImageException e = catchThrowableOfType(InvalidImageException.class,
                () -> ConnectionImage.read(badScale));
        assertThat(e.reason()).isEqualTo(Reason.INVALID_FIELD);
        assertThat(e).hasMessageContaining("window scale 15");
        byte[] badFamily = resealed(good, b -> b.put(16, (byte) 5));
        assertThat(catchThrowableOfType(InvalidImageException.class, () -> ConnectionImage.read(badFamily)).reason())
                .isEqualTo(Reason.INVALID_FIELD);
    }

    /** Fields a forger controls that no real connection has: each INVALID_FIELD, naming the field. */
    @Test
    void reservedBytesMssZeroOversizedBuffersAndUnspecifiedOrMappedAddressesAreInvalidFields() {
        byte[] v4 = ConnectionImage.write(state("127.0.0.1", "127.0.0.2", 0));
        byte[] v6 = ConnectionImage.write(state("::1", "fd00::2", 0));
        int mss = 16 + 1 + 2 * 6 + 8; // the MSS clamp of an IPv4 image
        int buffers = mss + 2 + 3 + 4 + 20; // SO_SNDBUF, then SO_RCVBUF
        KernelBuffers kernel = new KernelBuffers(4 << 20, 6 << 20);
        assertInvalid(resealed(v4, b -> b.putShort(10, (short) 1)), kernel, "reserved bytes at offset 10 hold 0x1");
        assertInvalid(resealed(v4, b -> b.putShort(mss, (short) 0)), kernel, "MSS clamp 0");
        assertInvalid(resealed(v4, b -> b.putInt(buffers, (4 << 20) + 1)), kernel, "SO_SNDBUF 4194305 exceeds");
        assertInvalid(resealed(v4, b -> b.putInt(buffers + 4, -1)), kernel, "SO_RCVBUF 4294967295 exceeds");
        assertInvalid(resealed(v4, b -> b.putInt(17, 0)), kernel, "unspecified address (0.0.0.0)");
        assertInvalid(resealed(v4, b -> b.putInt(17 + 6, 0)), kernel, "unspecified address (0.0.0.0)");
        assertInvalid(resealed(v6, b -> b.put(17, new byte[16])), kernel, "unspecified address (::)");
        byte[] mapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff, 10, 0, 0, 1};
        assertInvalid(resealed(v6, b -> b.put(17 + 18, mapped)), kernel, "IPv4-mapped address (::ffff:10.0.0.1)");
        // the limits are the kernel's: the same buffer sizes are fine where the maxima allow them
        byte[] large = resealed(v4, b -> b.putInt(buffers, 4 << 20));
        assertThat(catchThrowableOfType(InvalidImageException.class,
                () -> ConnectionImage.read(large, kernel))).isNull();
    }

    private static void assertInvalid(byte[] image, KernelBuffers kernel, String message) {
        InvalidImageException e = catchThrowableOfType(InvalidImageException.class,
                () -> ConnectionImage.read(image, kernel));
        assertThat(e).as(message).isNotNull();
        assertThat(e.reason()).isEqualTo(Reason.INVALID_FIELD);
        assertThat(e).hasMessageContaining(message);
    }

    @Test
    void aStateIsImmutableAndItsAddressesChecked() {
        ConnectionState s = state("127.0.0.1", "127.0.0.2", 1);
        s.receiveQueue()[0] = 'X';
        assertThat(s.receiveQueue()[0]).isEqualTo((byte) 'r');
        assertThatThrownBy(() -> state("127.0.0.1", "::1", 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("family");
        assertThatThrownBy(() -> new ConnectionState.TcpOptions(1460, 15, 0, false, false, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("0..14");
    }

    /** Changes an image and writes a matching checksum, as a careful forger (or a newer writer) would. */
    private static byte[] resealed(byte[] image, java.util.function.Consumer<ByteBuffer> change) {
        byte[] copy = image.clone();
        change.accept(ByteBuffer.wrap(copy));
        CRC32C crc = new CRC32C();
        crc.update(copy, 0, copy.length - 4);
        ByteBuffer.wrap(copy).putInt(copy.length - 4, (int) crc.getValue());
        return copy;
    }
}
