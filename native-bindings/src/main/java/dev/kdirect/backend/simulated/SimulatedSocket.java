package dev.kdirect.backend.simulated;

/**
 * A socket descriptor's open file (struct socket): its family, type and O_NONBLOCK, and behind it either the
 * {@link TcpEndpoint} (struct tcp_sock) of an AF_INET or AF_INET6 stream socket or the {@link UnixEndpoint}
 * (struct unix_sock) of an AF_UNIX one.
 */
final class SimulatedSocket implements FileDescription {
    final int domain;
    final int type;
    final boolean nonblocking;
    /** SS_CONNECTING: a non-blocking connect answered EINPROGRESS and no connect has seen it complete yet. */
    boolean connecting;
    /** The TCP endpoint; null for an AF_UNIX socket. */
    final TcpEndpoint tcp;
    /** The Unix stream endpoint; null for a TCP socket. */
    final UnixEndpoint unix;

    SimulatedSocket(int domain, int type, boolean nonblocking, TcpEndpoint tcp) {
        this(domain, type, nonblocking, tcp, null);
    }

    SimulatedSocket(int domain, int type, boolean nonblocking, TcpEndpoint tcp, UnixEndpoint unix) {
        this.domain = domain;
        this.type = type;
        this.nonblocking = nonblocking;
        this.tcp = tcp;
        this.unix = unix;
    }

    /** The last close: a TCP connection ends as tcp_close ends it, a Unix one as unix_release_sock. */
    @Override
    public void release() {
        if (tcp != null) {
            synchronized (tcp.network) {
                tcp.close();
            }
        }
        if (unix != null) {
            unix.close();
        }
    }
}
