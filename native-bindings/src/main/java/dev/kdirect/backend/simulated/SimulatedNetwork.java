package dev.kdirect.backend.simulated;

import dev.kdirect.SocketConstants;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * The simulated machine's network: its loopback addresses (127.0.0.0/8 and ::1, plus the wildcards), the ports
 * held by bound sockets (inet_bind_bucket), and the established connections by 4-tuple (the ehash). Both ends of
 * a connection live here, so a connection between two simulated sockets carries its bytes in the model: the
 * "peer" of an endpoint is whoever holds the reversed 4-tuple.
 *
 * <p>It is also the one monitor of all socket state: every socket call holds it, and blocking calls wait on it.
 * Where the real network would send a segment to a 4-tuple that no socket holds (between a repair-mode close
 * and the restore) the real kernel answers with a RST unless the 4-tuple is locked (CRIU's nftables lock); the
 * simulated network behaves as if it were locked: the segment is lost, and retransmitted when a socket holds
 * the 4-tuple again.
 */
final class SimulatedNetwork {
    private static final int EPHEMERAL_LOW = 32768; // net.ipv4.ip_local_port_range defaults
    private static final int EPHEMERAL_HIGH = 60999;
    private static final InetAddress LOOPBACK4 = address(new byte[] {127, 0, 0, 1});
    private static final InetAddress LOOPBACK6 = address(new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});

    private final Set<TcpEndpoint> bound = new HashSet<>();
    private final Map<FourTuple, TcpEndpoint> established = new HashMap<>();
    private final Random random = new Random();

    /** True for an address of this machine: loopback, or a wildcard (inet_addr_type RTN_LOCAL, ipv6_chk_addr). */
    static boolean isLocal(InetAddress address) {
        return address.isLoopbackAddress() || address.isAnyLocalAddress();
    }

    /** The source address the loopback route gives a connection to {@code remote} (the route's prefsrc). */
    static InetAddress sourceFor(InetAddress remote) {
        return remote instanceof Inet4Address ? LOOPBACK4 : LOOPBACK6;
    }

    /**
     * Takes {@code address}'s port for {@code endpoint} (inet_csk_get_port): port 0 picks a free ephemeral port.
     *
     * @return the bound address, or null when the port is in use (EADDRINUSE)
     */
    InetSocketAddress bind(TcpEndpoint endpoint, InetSocketAddress address) {
        int port = address.getPort();
        if (port == 0) {
            port = freePort(address.getAddress());
            if (port == 0) {
                return null;
            }
        } else if (conflicts(endpoint, address.getAddress(), port)) {
            return null;
        }
        bound.add(endpoint);
        return new InetSocketAddress(address.getAddress(), port);
    }

    /**
     * inet_bind_conflict: another holder of the port whose address overlaps conflicts, unless both allow reuse
     * and the other is not listening, or this socket forces reuse (a socket in repair mode).
     */
    boolean conflicts(TcpEndpoint endpoint, InetAddress address, int port) {
        if (endpoint.settings.reuse == SocketSettings.SK_FORCE_REUSE) {
            return false;
        }
        for (TcpEndpoint other : bound) {
            InetSocketAddress held = other.local;
            if (other == endpoint || held.getPort() != port || !overlaps(held.getAddress(), address)) {
                continue;
            }
            boolean bothReuse = endpoint.settings.reuse != SocketSettings.SK_NO_REUSE
                    && other.settings.reuse != SocketSettings.SK_NO_REUSE;
            if (!bothReuse || other.state == SocketConstants.TCP_LISTEN) {
                return true;
            }
        }
        return false;
    }

    /** Addresses overlap when equal or when either is a wildcard that covers the other (:: is dual-stack). */
    private static boolean overlaps(InetAddress a, InetAddress b) {
        return a.equals(b) || covers(a, b) || covers(b, a);
    }

    private static boolean covers(InetAddress wildcard, InetAddress other) {
        return wildcard.isAnyLocalAddress() && (!(wildcard instanceof Inet4Address) || other instanceof Inet4Address);
    }

    private int freePort(InetAddress address) {
        int range = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1;
        int offset = random.nextInt(range);
        for (int i = 0; i < range; i++) {
            int port = EPHEMERAL_LOW + (offset + i) % range;
            boolean used = bound.stream().anyMatch(e -> e.local.getPort() == port && overlaps(e.local.getAddress(),
                    address));
            if (!used) {
                return port;
            }
        }
        return 0;
    }

    /** The listening endpoint a SYN to {@code remote} reaches, or null (the kernel answers with a RST). */
    TcpEndpoint listener(InetSocketAddress remote) {
        for (TcpEndpoint e : bound) {
            if (e.state == SocketConstants.TCP_LISTEN && e.local.getPort() == remote.getPort()
                    && (e.local.getAddress().equals(remote.getAddress()) || covers(e.local.getAddress(),
                            remote.getAddress()))) {
                return e;
            }
        }
        return null;
    }

    /** Enters an endpoint in the established hash; false when the 4-tuple is taken (EADDRNOTAVAIL). */
    boolean establish(TcpEndpoint endpoint) {
        return !taken(endpoint.tuple()) && established.putIfAbsent(endpoint.tuple(), endpoint) == null;
    }

    /** Whether a socket holds {@code tuple} (__inet_check_established); refused where a timewait socket does. */
    boolean taken(FourTuple tuple) {
        TcpEndpoint held = established.get(tuple);
        if (held != null && held.orphan) {
            // measured on 6.18: EADDRNOTAVAIL over a FIN_WAIT2 socket of a handshake's connection, where
            // tcp_twsk_unique as read would let it go; until that is understood the model does not answer
            throw new UnsupportedOperationException("connect over a 4-tuple in FIN_WAIT2 or TIME_WAIT: whether"
                    + " tcp_twsk_unique lets the timewait socket go is not modelled");
        }
        return held != null;
    }

    /** An accepted connection shares its listener's port: it is entered without a bind. */
    void adopt(TcpEndpoint child) {
        bound.add(child);
        established.put(child.tuple(), child);
    }

    /** A socket out of the established hash keeps its port (a port bind(2) named survives a reset). */
    void holdPort(TcpEndpoint endpoint) {
        bound.add(endpoint);
    }

    /** The endpoint holding {@code tuple}, or null. */
    TcpEndpoint endpoint(FourTuple tuple) {
        return established.get(tuple);
    }

    /** Removes the endpoint: its port and 4-tuple are free again. */
    void release(TcpEndpoint endpoint) {
        bound.remove(endpoint);
        if (endpoint.remote != null) {
            established.remove(endpoint.tuple(), endpoint);
        }
        changed();
    }

    /** A random initial sequence number (secure_tcp_seq). */
    int initialSequence() {
        return random.nextInt();
    }

    /** A random timestamp offset per connection (secure_tcp_ts_off). */
    int timestampOffset() {
        return random.nextInt();
    }

    /**
     * The TCP timestamp clock (tcp_clock_ts): milliseconds, or microseconds for a socket with tcp_usec_ts, of
     * CLOCK_MONOTONIC (tcp_clock_ns is ktime_get_ns; System.nanoTime reads the same clock on Linux), so that the
     * model's TCP_TIMESTAMP values are the machine's own.
     */
    int clock(boolean micros) {
        long now = System.nanoTime();
        return micros ? (int) (now / 1000) : (int) (now / 1_000_000);
    }

    /** Wakes every waiting socket call: something they may wait for changed. */
    void changed() {
        notifyAll();
    }

    /** Waits for a change; the caller holds the monitor and re-checks its condition. */
    void await() {
        try {
            wait();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted in a blocking simulated socket call", e);
        }
    }

    private static InetAddress address(byte[] raw) {
        try {
            return InetAddress.getByAddress(raw);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }
}
