package dev.kdirect.backend.simulated;

import java.net.InetSocketAddress;

/**
 * A TCP connection's identity in the simulated network, as the kernel's established hash keys it
 * (inet_ehashfn): local and remote address and port. IPv4-mapped IPv6 addresses are kept as IPv4, so a
 * dual-stack socket and an AF_INET socket of one connection name the same tuple.
 */
record FourTuple(InetSocketAddress local, InetSocketAddress remote) {
    /** The same connection seen from the other end. */
    FourTuple reversed() {
        return new FourTuple(remote, local);
    }
}
