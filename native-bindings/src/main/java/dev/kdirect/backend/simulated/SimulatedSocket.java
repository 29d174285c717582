package dev.kdirect.backend.simulated;

/**
 * A socket descriptor's open file (struct socket): its family, type and O_NONBLOCK, and for an AF_INET or
 * AF_INET6 stream socket the {@link TcpEndpoint} (struct tcp_sock) behind it. AF_UNIX sockets exist only so far
 * as socket(2) and setsockopt's level check need them.
 */
final class SimulatedSocket implements FileDescription {
    final int domain;
    final int type;
    final boolean nonblocking;
    /** The TCP endpoint; null for an AF_UNIX socket. */
    final TcpEndpoint tcp;

    SimulatedSocket(int domain, int type, boolean nonblocking, TcpEndpoint tcp) {
        this.domain = domain;
        this.type = type;
        this.nonblocking = nonblocking;
        this.tcp = tcp;
    }

    /** The last close: the connection ends as tcp_close ends it (see {@link TcpEndpoint#close}). */
    @Override
    public void release() {
        if (tcp != null) {
            synchronized (tcp.network) {
                tcp.close();
            }
        }
    }
}
