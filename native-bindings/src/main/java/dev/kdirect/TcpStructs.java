package dev.kdirect;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The structs of the TCP repair options, defined once for the real bindings' callers and the simulated kernel
 * (include/uapi/linux/tcp.h, x86-64): their layouts, and each field read and written by name through a var handle
 * at offset 0 of the struct's segment. A struct passed with a length other than its size is refused by the kernel
 * (EINVAL for TCP_REPAIR_WINDOW); getsockopt(TCP_INFO) copies the prefix that fits.
 */
public final class TcpStructs {
    /** struct tcp_repair_window (since Linux 4.8): the window state TCP_REPAIR_WINDOW reads and restores. */
    public static final StructLayout REPAIR_WINDOW = MemoryLayout.structLayout(
            JAVA_INT.withName("snd_wl1"),
            JAVA_INT.withName("snd_wnd"),
            JAVA_INT.withName("max_window"),
            JAVA_INT.withName("rcv_wnd"),
            JAVA_INT.withName("rcv_wup")).withName("tcp_repair_window");
    /** tcp_repair_window.snd_wl1: the sequence number of the segment that last updated the send window. */
    public static final VarHandle WINDOW_SND_WL1 = field(REPAIR_WINDOW, "snd_wl1");
    /** tcp_repair_window.snd_wnd: the peer's advertised window. */
    public static final VarHandle WINDOW_SND_WND = field(REPAIR_WINDOW, "snd_wnd");
    /** tcp_repair_window.max_window: the largest window the peer has advertised. */
    public static final VarHandle WINDOW_MAX_WINDOW = field(REPAIR_WINDOW, "max_window");
    /** tcp_repair_window.rcv_wnd: the window this end advertises. */
    public static final VarHandle WINDOW_RCV_WND = field(REPAIR_WINDOW, "rcv_wnd");
    /** tcp_repair_window.rcv_wup: rcv_nxt at the last window update. */
    public static final VarHandle WINDOW_RCV_WUP = field(REPAIR_WINDOW, "rcv_wup");

    /** struct tcp_repair_opt: one handshake option for TCP_REPAIR_OPTIONS, an array of them. */
    public static final StructLayout REPAIR_OPT = MemoryLayout.structLayout(
            JAVA_INT.withName("opt_code"),
            JAVA_INT.withName("opt_val")).withName("tcp_repair_opt");
    /** tcp_repair_opt.opt_code: TCPOPT_MAXSEG, TCPOPT_WINDOW, TCPOPT_SACK_PERM or TCPOPT_TIMESTAMP. */
    public static final VarHandle OPT_CODE = field(REPAIR_OPT, "opt_code");
    /** tcp_repair_opt.opt_val: the MSS, the window scales (send | receive &lt;&lt; 16), or 0. */
    public static final VarHandle OPT_VAL = field(REPAIR_OPT, "opt_val");

    /**
     * The prefix of struct tcp_info that TCP repair reads: tcpi_state, tcpi_ca_state, tcpi_retransmits,
     * tcpi_probes, tcpi_backoff, tcpi_options, and the byte of the bit fields tcpi_snd_wscale (low 4 bits) and
     * tcpi_rcv_wscale (high 4 bits), padded to the next field.
     */
    public static final StructLayout INFO_PREFIX = MemoryLayout.structLayout(
            JAVA_BYTE.withName("tcpi_state"),
            JAVA_BYTE.withName("tcpi_ca_state"),
            JAVA_BYTE.withName("tcpi_retransmits"),
            JAVA_BYTE.withName("tcpi_probes"),
            JAVA_BYTE.withName("tcpi_backoff"),
            JAVA_BYTE.withName("tcpi_options"),
            JAVA_BYTE.withName("tcpi_wscales"),
            JAVA_BYTE.withName("tcpi_app_limited_fastopen_bits")).withName("tcp_info");
    /** tcp_info.tcpi_state: the TCP state ({@link SocketConstants#TCP_ESTABLISHED}, ...). */
    public static final VarHandle INFO_STATE = field(INFO_PREFIX, "tcpi_state");
    /** tcp_info.tcpi_options: {@link SocketConstants#TCPI_OPT_SACK} and the other TCPI_OPT bits. */
    public static final VarHandle INFO_OPTIONS = field(INFO_PREFIX, "tcpi_options");
    /** The byte of tcpi_snd_wscale (low 4 bits) and tcpi_rcv_wscale (high 4 bits). */
    public static final VarHandle INFO_WSCALES = field(INFO_PREFIX, "tcpi_wscales");
    /** sizeof(struct tcp_info) in Linux 6.1 as in 6.18 (a shorter buffer gets the prefix that fits). */
    public static final int INFO_SIZE = 232;

    private TcpStructs() {
    }

    /** The field's var handle at base offset 0: of the struct's own segment, or of a slice of an array of them. */
    private static VarHandle field(StructLayout struct, String name) {
        return MethodHandles.insertCoordinates(struct.varHandle(MemoryLayout.PathElement.groupElement(name)), 1, 0L);
    }

    /** A new zeroed tcp_repair_window in {@code arena}, its fields set. */
    public static MemorySegment repairWindow(SegmentAllocator arena, int sndWl1, int sndWnd,
            int maxWindow, int rcvWnd, int rcvWup) {
        MemorySegment window = arena.allocate(REPAIR_WINDOW);
        WINDOW_SND_WL1.set(window, sndWl1);
        WINDOW_SND_WND.set(window, sndWnd);
        WINDOW_MAX_WINDOW.set(window, maxWindow);
        WINDOW_RCV_WND.set(window, rcvWnd);
        WINDOW_RCV_WUP.set(window, rcvWup);
        return window;
    }
}
