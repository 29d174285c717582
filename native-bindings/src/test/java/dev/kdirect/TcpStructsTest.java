package dev.kdirect;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * The TCP repair structs as include/uapi/linux/tcp.h lays them out on x86-64 (the offsets below are the header's;
 * the kernel's length checks, e.g. TCP_REPAIR_WINDOW's EINVAL for any other size, are held by the contract suites),
 * and their fields read and written by name where the offsets say.
 */
class TcpStructsTest {
    @Test
    void theLayoutsHaveTheHeadersSizesAndOffsets() {
        assertThat(TcpStructs.REPAIR_WINDOW.byteSize()).isEqualTo(20);
        assertThat(SocketConstants.TCP_REPAIR_WINDOW_SIZE).isEqualTo(20);
        String[] window = {"snd_wl1", "snd_wnd", "max_window", "rcv_wnd", "rcv_wup"};
        for (int i = 0; i < window.length; i++) {
            assertThat(TcpStructs.REPAIR_WINDOW.byteOffset(PathElement.groupElement(window[i]))).isEqualTo(4L * i);
        }
        assertThat(TcpStructs.REPAIR_OPT.byteSize()).isEqualTo(8);
        assertThat(TcpStructs.REPAIR_OPT.byteOffset(PathElement.groupElement("opt_val"))).isEqualTo(4);
        assertThat(TcpStructs.INFO_PREFIX.byteOffset(PathElement.groupElement("tcpi_state"))).isZero();
        assertThat(TcpStructs.INFO_PREFIX.byteOffset(PathElement.groupElement("tcpi_options"))).isEqualTo(5);
        assertThat(TcpStructs.INFO_PREFIX.byteOffset(PathElement.groupElement("tcpi_wscales"))).isEqualTo(6);
    }

    @Test
    void fieldsAreWrittenAndReadByNameAtTheirOffsets() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment w = TcpStructs.repairWindow(arena, 1, 2, 3, 4, 5);
            assertThat(w.toArray(java.lang.foreign.ValueLayout.JAVA_INT)).containsExactly(1, 2, 3, 4, 5);
            assertThat((int) TcpStructs.WINDOW_RCV_WUP.get(w)).isEqualTo(5);
            MemorySegment options = arena.allocate(TcpStructs.REPAIR_OPT, 2);
            MemorySegment second = options.asSlice(TcpStructs.REPAIR_OPT.byteSize(), TcpStructs.REPAIR_OPT);
            TcpStructs.OPT_CODE.set(second, SocketConstants.TCPOPT_WINDOW);
            TcpStructs.OPT_VAL.set(second, 7 | 9 << 16);
            assertThat(options.toArray(java.lang.foreign.ValueLayout.JAVA_INT))
                    .containsExactly(0, 0, SocketConstants.TCPOPT_WINDOW, 7 | 9 << 16);
        }
    }
}
