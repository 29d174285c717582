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

    private SocketConstants() {
    }
}
