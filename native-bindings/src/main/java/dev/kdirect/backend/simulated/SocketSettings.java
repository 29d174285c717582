package dev.kdirect.backend.simulated;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The option values of a simulated TCP socket that are not connection state (struct sock and tcp_sock fields set
 * by setsockopt): SO_REUSEADDR (sk_reuse), SO_SNDBUF, SO_RCVBUF (and their FORCE variants), SO_KEEPALIVE, TCP_NODELAY and TCP_MAXSEG's
 * user MSS. Defaults and limits are this host's sysctls (net.ipv4.tcp_wmem/tcp_rmem, net.core.wmem_max/rmem_max),
 * as the credentials are this process's, so the model answers as the host would. A socket returned by accept
 * starts with a copy of its listener's values.
 */
final class SocketSettings {
    /** sk_reuse values (include/net/sock.h). */
    static final int SK_NO_REUSE = 0;
    static final int SK_CAN_REUSE = 1;
    static final int SK_FORCE_REUSE = 2;
    /** SOCK_MIN_SNDBUF and SOCK_MIN_RCVBUF on x86-64: 2 * and 1 * (2048 + the aligned size of an sk_buff). */
    private static final int SOCK_MIN_SNDBUF = 4608;
    private static final int SOCK_MIN_RCVBUF = 2304;
    private static final int WMEM_MAX = sysctl("net/core/wmem_max", 0, 212992);
    private static final int RMEM_MAX = sysctl("net/core/rmem_max", 0, 212992);
    private static final int TCP_WMEM_DEFAULT = sysctl("net/ipv4/tcp_wmem", 1, 16384);
    private static final int TCP_RMEM_DEFAULT = sysctl("net/ipv4/tcp_rmem", 1, 131072);
    private static final int TCP_RMEM_MAX = sysctl("net/ipv4/tcp_rmem", 2, 6291456);
    private static final int TCP_MAX_WSCALE = 14;
    /** The window of a 16-bit field, before any scaling (U16_MAX). */
    private static final int U16_MAX = 65535;

    int reuse = SK_NO_REUSE;
    boolean keepAlive;
    boolean noDelay;
    int userMss;
    int sendBuffer = TCP_WMEM_DEFAULT;
    int receiveBuffer = TCP_RMEM_DEFAULT;
    /** SOCK_RCVBUF_LOCK: SO_RCVBUF was set, so the window is clamped to the buffer (tcp_connect_init). */
    boolean receiveBufferLocked;

    SocketSettings copy() {
        SocketSettings c = new SocketSettings();
        c.reuse = reuse;
        c.keepAlive = keepAlive;
        c.noDelay = noDelay;
        c.userMss = userMss;
        c.sendBuffer = sendBuffer;
        c.receiveBuffer = receiveBuffer;
        c.receiveBufferLocked = receiveBufferLocked;
        return c;
    }

    /** SO_SNDBUF (sk_setsockopt): capped at wmem_max, doubled for bookkeeping, at least SOCK_MIN_SNDBUF. */
    void setSendBuffer(int value) {
        sendBuffer = Math.max(doubled(value, WMEM_MAX), SOCK_MIN_SNDBUF);
    }

    /** SO_RCVBUF (__sock_set_rcvbuf): capped at rmem_max, doubled, at least SOCK_MIN_RCVBUF. */
    void setReceiveBuffer(int value) {
        receiveBuffer = Math.max(doubled(value, RMEM_MAX), SOCK_MIN_RCVBUF);
        receiveBufferLocked = true;
    }

    /** SO_SNDBUFFORCE: no wmem_max cap, a negative value is 0. */
    void forceSendBuffer(int value) {
        sendBuffer = Math.max(doubled(Math.max(value, 0), Integer.MAX_VALUE), SOCK_MIN_SNDBUF);
    }

    /** SO_RCVBUFFORCE: no rmem_max cap, a negative value is 0. */
    void forceReceiveBuffer(int value) {
        receiveBuffer = Math.max(doubled(Math.max(value, 0), Integer.MAX_VALUE), SOCK_MIN_RCVBUF);
        receiveBufferLocked = true;
    }

    /**
     * The largest sk_rcvbuf may become: tcp_clamp_window raises an unlocked buffer up to tcp_rmem[2] when the
     * receive queue outgrows it; a locked one (SO_RCVBUF, SO_RCVBUFFORCE) stays.
     */
    long receiveBufferLimit() {
        return receiveBufferLocked ? receiveBuffer : Math.max(receiveBuffer, TCP_RMEM_MAX);
    }

    /** tcp_full_space: the part of the receive buffer offered as window, half of it at the initial scaling. */
    private int fullSpace() {
        return receiveBuffer / 2;
    }

    /**
     * The receive window scale a handshake announces (tcp_select_initial_window, net/ipv4/tcp_output.c): for the
     * largest window the buffer may grow to (tcp_rmem[2], rmem_max), or for the buffer itself when SO_RCVBUF
     * fixed it; ilog2(space) - 15, within 0 to 14.
     */
    int windowScale() {
        int space = receiveBufferLocked ? fullSpace() : Math.max(fullSpace(), Math.max(TCP_RMEM_MAX, RMEM_MAX));
        return Math.clamp(31 - Integer.numberOfLeadingZeros(space) - 15, 0, TCP_MAX_WSCALE);
    }

    /**
     * The first window an end offers (tcp_select_initial_window, net/ipv4/tcp_output.c, 6.1 and 6.18: a SYN's or a
     * repair connect's from tcp_connect_init, a SYN-ACK's from tcp_openreq_init_rwin): the full space rounded down
     * to a multiple of the MSS when larger, at most U16_MAX (window_clamp, when SO_RCVBUF set it, is the full space).
     */
    int initialWindow(int mss) {
        int space = fullSpace();
        return Math.min(space > mss ? space - space % mss : space, U16_MAX);
    }

    private static int doubled(int value, int max) {
        long capped = Math.min(Integer.toUnsignedLong(value), max); // min_t(u32, ...): negative means huge
        return (int) Math.min(capped, Integer.MAX_VALUE / 2) * 2;
    }

    private static int sysctl(String name, int field, int fallback) {
        try {
            // by lines: on the 6.18 host Files.readString of a /proc/sys file returned only its first byte
            String line = Files.readAllLines(Path.of("/proc/sys", name)).getFirst();
            return Integer.parseInt(line.trim().split("\\s+")[field]);
        } catch (java.io.IOException | RuntimeException e) {
            return fallback;
        }
    }
}
