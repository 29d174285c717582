package dev.kdirect.netty;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The attachment that carries a Netty connection's state and bytes: round trips, and hostile input refused. */
class CarriedTest {
    private final Carried carried = new Carried(new byte[] {1, 2, 3}, "half a frame".getBytes(),
            new byte[70_000]);

    @Test
    void roundTrips() {
        Carried back = Carried.decode(carried.encode());
        assertThat(back.state()).containsExactly(1, 2, 3);
        assertThat(new String(back.inbound())).isEqualTo("half a frame");
        assertThat(back.outbound()).hasSize(70_000);
    }

    @Test
    void everyTruncationIsRefused() {
        byte[] bytes = new Carried(new byte[] {9}, new byte[] {8}, new byte[] {7}).encode();
        for (int n = 0; n < bytes.length; n++) {
            byte[] prefix = Arrays.copyOf(bytes, n);
            assertThatThrownBy(() -> Carried.decode(prefix)).as("prefix of %d bytes", n)
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void foreignVersionsLengthsAndTrailingBytesAreRefused() {
        byte[] bytes = carried.encode();
        byte[] foreign = bytes.clone();
        foreign[0] = 'X';
        assertThatThrownBy(() -> Carried.decode(foreign)).hasMessageContaining("not a kdirect-netty");
        byte[] future = bytes.clone();
        future[4] = 2;
        assertThatThrownBy(() -> Carried.decode(future)).hasMessageContaining("version 2");
        byte[] huge = bytes.clone();
        ByteBuffer.wrap(huge).putInt(5, Integer.MAX_VALUE);
        assertThatThrownBy(() -> Carried.decode(huge)).hasMessageContaining("exceeds");
        byte[] negative = bytes.clone();
        ByteBuffer.wrap(negative).putInt(5, -1);
        assertThatThrownBy(() -> Carried.decode(negative)).hasMessageContaining("exceeds");
        byte[] longer = Arrays.copyOf(bytes, bytes.length + 1);
        assertThatThrownBy(() -> Carried.decode(longer)).hasMessageContaining("after its last field");
    }
}
