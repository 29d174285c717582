package dev.kdirect;

/** Socket domains, types, levels and options (include/linux/socket.h, include/uapi/linux/tcp.h). */
public final class SocketConstants {
    public static final int AF_UNIX = 1;
    public static final int AF_INET = 2;
    public static final int AF_INET6 = 10;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_NONBLOCK = 04000;
    public static final int SOCK_CLOEXEC = 02000000;
    public static final int SOL_SOCKET = 1;
    /** TCP's option level (IPPROTO_TCP). */
    public static final int SOL_TCP = 6;
    /** TCP_REPAIR: 1 enters repair mode, 0 leaves it, -1 leaves it without sending a window probe. */
    public static final int TCP_REPAIR = 19;
    /** The maximum segment size; in repair mode getsockopt returns the MSS clamp. */
    public static final int TCP_MAXSEG = 2;
    /** struct tcp_info: tcpi_state at byte 0, tcpi_options at 5, the window scales at 6. */
    public static final int TCP_INFO = 11;
    /** Selects the queue (TCP_RECV_QUEUE 1, TCP_SEND_QUEUE 2) the next TCP_QUEUE_SEQ and recv/send act on. */
    public static final int TCP_REPAIR_QUEUE = 20;
    /** The selected queue's sequence number. */
    public static final int TCP_QUEUE_SEQ = 21;
    /** struct tcp_repair_opt[]: the options negotiated at the handshake. */
    public static final int TCP_REPAIR_OPTIONS = 22;
    /** The timestamp clock (u32). */
    public static final int TCP_TIMESTAMP = 24;
    /** struct tcp_repair_window (20 bytes). */
    public static final int TCP_REPAIR_WINDOW = 29;
    public static final int TCP_NODELAY = 1;
    /** Leaves delayed-ACK (pingpong) mode and sends an ACK that is due now (tcp_setsockopt, net/ipv4/tcp.c). */
    public static final int TCP_QUICKACK = 12;
    public static final int TCP_RECV_QUEUE = 1;
    public static final int TCP_SEND_QUEUE = 2;
    public static final int SO_REUSEADDR = 2;
    public static final int SO_SNDBUF = 7;
    public static final int SO_RCVBUF = 8;
    public static final int SO_KEEPALIVE = 9;
    /** SO_SNDBUF and SO_RCVBUF past the wmem_max/rmem_max limits; needs CAP_NET_ADMIN (EPERM). Not readable. */
    public static final int SO_SNDBUFFORCE = 32;
    public static final int SO_RCVBUFFORCE = 33;
    /** ioctl: bytes in the receive queue not yet read. */
    public static final int SIOCINQ = 0x541B;
    /** ioctl: bytes in the send queue, sent or not. */
    public static final int SIOCOUTQ = 0x5411;
    /** ioctl: bytes in the send queue never sent. */
    public static final int SIOCOUTQNSD = 0x894B;
    public static final int MSG_PEEK = 0x2;
    public static final int MSG_DONTWAIT = 0x40;
    /** send(2): no SIGPIPE on a connection that cannot send (EPIPE is still returned). */
    public static final int MSG_NOSIGNAL = 0x4000;
    /** TCP_REPAIR values: on; off (sends a window probe); off without the probe. */
    public static final int TCP_REPAIR_ON = 1;
    public static final int TCP_REPAIR_OFF = 0;
    public static final int TCP_REPAIR_OFF_NO_WP = -1;
    /** TCP_REPAIR_QUEUE value selecting neither queue (the value repair mode starts with). */
    public static final int TCP_NO_QUEUE = 0;
    /** struct tcp_repair_opt codes (TCPOPT_*). */
    public static final int TCPOPT_MAXSEG = 2;
    public static final int TCPOPT_WINDOW = 3;
    public static final int TCPOPT_SACK_PERM = 4;
    public static final int TCPOPT_TIMESTAMP = 8;
    /** tcp_info.tcpi_options bits. */
    public static final int TCPI_OPT_TIMESTAMPS = 1;
    public static final int TCPI_OPT_SACK = 2;
    public static final int TCPI_OPT_WSCALE = 4;
    /** Since 6.7: the connection's timestamps count microseconds (TCP_TIMESTAMP set with its low bit). */
    public static final int TCPI_OPT_USEC_TS = 64;
    /** tcp_info.tcpi_state values (include/net/tcp_states.h). */
    public static final int TCP_ESTABLISHED = 1;
    public static final int TCP_CLOSE = 7;
    public static final int TCP_CLOSE_WAIT = 8;
    public static final int TCP_LISTEN = 10;
    /** sizeof(struct tcp_repair_window) ({@link TcpStructs#REPAIR_WINDOW}). */
    public static final int TCP_REPAIR_WINDOW_SIZE = (int) TcpStructs.REPAIR_WINDOW.byteSize();
    /** SOL_SOCKET option: a receive timeout, struct timeval (16 bytes); a recv that waits longer fails with EAGAIN. */
    public static final int SO_RCVTIMEO = 20;
    /** SOL_SOCKET options: the socket's protocol (IPPROTO_TCP 6 for TCP, 0 for AF_UNIX); its type. Read only. */
    public static final int SO_PROTOCOL = 38;
    public static final int SO_TYPE = 3;
    /** IPPROTO_TCP, as SO_PROTOCOL reports it. */
    public static final int IPPROTO_TCP = 6;
    /** SOL_SOCKET option of a Unix domain socket: the peer's struct ucred when it connected (or socketpair). */
    public static final int SO_PEERCRED = 17;
    /** sizeof(struct ucred): pid, uid, gid, each 32 bits. */
    public static final int UCRED_SIZE = 12;
    /** Control message type (level SOL_SOCKET) carrying descriptors (include/linux/socket.h). */
    public static final int SCM_RIGHTS = 1;
    /** The most descriptors one SCM_RIGHTS message may carry (include/net/scm.h). */
    public static final int SCM_MAX_FD = 253;
    /** recvmsg(2) msg_flags: control data was discarded for want of room in the control buffer. */
    public static final int MSG_CTRUNC = 0x8;
    /** recvmsg(2) flag: received descriptors are close-on-exec. */
    public static final int MSG_CMSG_CLOEXEC = 0x40000000;

    private SocketConstants() {
    }
}
