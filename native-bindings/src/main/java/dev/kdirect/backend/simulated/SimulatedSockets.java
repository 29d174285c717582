package dev.kdirect.backend.simulated;

import static dev.kdirect.SocketConstants.AF_INET;
import static dev.kdirect.SocketConstants.AF_INET6;
import static dev.kdirect.SocketConstants.TCP_CLOSE;
import static dev.kdirect.SocketConstants.TCP_LISTEN;

import dev.kdirect.Credentials;
import dev.kdirect.Errno;
import dev.kdirect.SocketConstants;
import dev.kdirect.backend.SocketAddresses;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * The socket syscalls of the simulated kernel on TCP (net/socket.c, net/ipv4/af_inet.c, net/ipv6/af_inet6.c,
 * net/ipv4/tcp.c, tcp_ipv4.c): descriptor checks, address checks in the kernel's order, then the
 * {@link TcpEndpoint} under the {@link SimulatedNetwork}'s monitor. Socket options are {@link SocketOptionCalls}.
 * Only loopback exists: connecting elsewhere is not modelled and fails loudly.
 */
final class SimulatedSockets {
    private static final int CAP_NET_BIND_SERVICE = 10;
    private static final int PROT_SOCK = 1024;

    private final Credentials credentials;
    private final FdTable fds;
    private final SimulatedNetwork network = new SimulatedNetwork();

    SimulatedSockets(Credentials credentials, FdTable fds) {
        this.credentials = credentials;
        this.fds = fds;
    }

    /** __sys_socket: flag bits, then family, then type. Only stream sockets are modelled. */
    int socket(int domain, int type, int protocol) {
        int socketType = type & 0xf;
        if ((type & ~(0xf | SocketConstants.SOCK_NONBLOCK | SocketConstants.SOCK_CLOEXEC)) != 0) {
            return -Errno.EINVAL.value();
        }
        if (domain != SocketConstants.AF_UNIX && domain != AF_INET && domain != AF_INET6) {
            return -Errno.EAFNOSUPPORT.value();
        }
        if (socketType != SocketConstants.SOCK_STREAM) {
            throw new UnsupportedOperationException("the simulated kernel models stream sockets only");
        }
        boolean nonblocking = (type & SocketConstants.SOCK_NONBLOCK) != 0;
        if (domain == SocketConstants.AF_UNIX) {
            return fds.install(new SimulatedSocket(domain, socketType, nonblocking, null,
                    UnixEndpoint.unconnected(fds)));
        }
        return fds.install(new SimulatedSocket(domain, socketType, nonblocking,
                new TcpEndpoint(network, new SocketSettings())));
    }

    /** The socket behind {@code fd}, or null when {@link #lookupError} says why not. */
    SimulatedSocket socket(int fd) {
        return fds.get(fd) instanceof SimulatedSocket s ? s : null;
    }

    /** EBADF for a descriptor that is not open, ENOTSOCK for one that is not a socket (sockfd_lookup). */
    int lookupError(int fd) {
        return fds.get(fd) == null ? -Errno.EBADF.value() : -Errno.ENOTSOCK.value();
    }

    /** inet_bind / inet6_bind, then __inet_bind. */
    int bind(int fd, MemorySegment sockaddr) {
        return (int) onSocket(fd, (s, tcp) -> bind(s, tcp, sockaddr));
    }

    private int bind(SimulatedSocket s, TcpEndpoint tcp, MemorySegment sockaddr) {
        int error = addressError(s, sockaddr);
        if (error != 0) {
            return error;
        }
        InetSocketAddress address = SocketAddresses.decode(sockaddr, (int) sockaddr.byteSize());
        if (!SimulatedNetwork.isLocal(address.getAddress())) {
            return -Errno.EADDRNOTAVAIL.value();
        }
        if (address.getPort() != 0 && address.getPort() < PROT_SOCK && !credentials.capable(CAP_NET_BIND_SERVICE)) {
            return -Errno.EACCES.value();
        }
        if (tcp.state != TCP_CLOSE || tcp.local != null && !tcp.portReleased) {
            return -Errno.EINVAL.value();
        }
        InetSocketAddress bound = network.bind(tcp, address);
        if (bound == null) {
            return -Errno.EADDRINUSE.value();
        }
        tcp.local = bound;
        tcp.portReleased = false;
        tcp.portLocked = address.getPort() != 0; // __inet_bind: SOCK_BINDPORT_LOCK
        return 0;
    }

    /** The length and family checks of inet_bind and tcp_v4_connect (and their IPv6 twins). */
    private static int addressError(SimulatedSocket s, MemorySegment sockaddr) {
        boolean v4 = s.domain == AF_INET;
        if (sockaddr.byteSize() < (v4 ? SocketAddresses.IN_SIZE : SocketAddresses.IN6_MIN_SIZE)) {
            return -Errno.EINVAL.value();
        }
        return SocketAddresses.family(sockaddr) != s.domain ? -Errno.EAFNOSUPPORT.value() : 0;
    }

    /** inet_listen: only an unconnected stream socket; an unbound one gets an ephemeral port. */
    int listen(int fd, int backlog) {
        return (int) onSocket(fd, (s, tcp) -> {
            if (tcp.state == TCP_LISTEN) {
                return 0;
            }
            if (tcp.state != TCP_CLOSE || tcp.remote != null) {
                return -Errno.EINVAL.value();
            }
            if (tcp.local != null && network.conflicts(tcp, tcp.local.getAddress(), tcp.local.getPort())) {
                // inet_csk_listen_start takes the port again (get_port) under bind's rules: a port bound in repair
                // mode (forced reuse) beside another socket is refused now that repair mode is left
                return -Errno.EADDRINUSE.value();
            }
            if (tcp.local == null) {
                InetSocketAddress bound = network.bind(tcp, new InetSocketAddress(wildcard(s.domain), 0));
                if (bound == null) {
                    return -Errno.EADDRINUSE.value();
                }
                tcp.local = bound;
            }
            tcp.state = TCP_LISTEN;
            tcp.listener = new TcpListener();
            return 0;
        });
    }

    /**
     * __inet_stream_connect then tcp_v4_connect / tcp_v6_connect: state first (EISCONN), then the address; in
     * repair mode no SYN (tcp_connect), else the handshake with the listener, done before connect returns (as
     * on loopback); a non-blocking socket still reports EINPROGRESS, and its next connect, finding the handshake
     * done, answers 0 (SS_CONNECTING to SS_CONNECTED), the one after EISCONN.
     */
    int connect(int fd, MemorySegment sockaddr) {
        return (int) onSocket(fd, (s, tcp) -> {
            if (s.connecting && tcp.connected()) {
                s.connecting = false;
                return 0;
            }
            if (tcp.state != TCP_CLOSE || tcp.remote != null) {
                return -Errno.EISCONN.value();
            }
            int error = addressError(s, sockaddr);
            if (error != 0) {
                return error;
            }
            InetSocketAddress remote = SocketAddresses.decode(sockaddr, (int) sockaddr.byteSize());
            if (remote.getAddress().isAnyLocalAddress()) {
                remote = new InetSocketAddress(SimulatedNetwork.sourceFor(remote.getAddress()), remote.getPort());
            }
            if (!SimulatedNetwork.isLocal(remote.getAddress())) {
                throw new UnsupportedOperationException("the simulated network has only loopback: cannot connect to "
                        + remote);
            }
            boolean autobound = tcp.local == null;
            InetAddress source = autobound || tcp.local.getAddress().isAnyLocalAddress()
                    ? SimulatedNetwork.sourceFor(remote.getAddress()) : tcp.local.getAddress();
            if (autobound) {
                tcp.local = network.bind(tcp, new InetSocketAddress(source, 0));
                if (tcp.local == null) {
                    return -Errno.EADDRNOTAVAIL.value();
                }
            }
            tcp.local = new InetSocketAddress(source, tcp.local.getPort());
            tcp.remote = remote;
            // tcp_v4_connect / tcp_v6_connect set the MSS clamp before inet_hash_connect, so a connect that fails
            // there (or is refused) leaves it set
            tcp.mssClamp = s.domain == AF_INET ? TcpEndpoint.TCP_MSS_DEFAULT : TcpEndpoint.IPV6_MIN_MSS;
            TcpEndpoint listener = tcp.repair ? null : network.listener(remote);
            int refusal = 0;
            if (!tcp.repair && listener == null) {
                // inet_hash_connect checks the 4-tuple before the SYN goes out (tcp_v4_connect); the RST comes after
                refusal = network.taken(tcp.tuple()) ? -Errno.EADDRNOTAVAIL.value() : -Errno.ECONNREFUSED.value();
            } else if (!network.establish(tcp)) {
                refusal = -Errno.EADDRNOTAVAIL.value();
            }
            if (refusal != 0) {
                if (refusal == -Errno.ECONNREFUSED.value()) {
                    tcp.refusedSyn(!s.nonblocking);
                }
                tcp.remote = null;
                if (autobound) {
                    network.release(tcp);
                    tcp.local = null;
                }
                return refusal;
            }
            if (tcp.repair) {
                tcp.connectRepaired();
                return 0;
            }
            TcpEndpoint child = new TcpEndpoint(network, listener.settings.copy());
            child.local = remote;
            child.remote = tcp.local;
            tcp.handshake(child);
            network.adopt(child);
            listener.listener.add(child);
            network.changed();
            s.connecting = s.nonblocking;
            return s.nonblocking ? -Errno.EINPROGRESS.value() : 0;
        });
    }

    /** inet_accept / inet_csk_accept: EINVAL unless listening; waits unless non-blocking. */
    int accept(int fd) {
        return (int) onSocket(fd, (s, tcp) -> {
            while (true) {
                if (tcp.state != TCP_LISTEN) {
                    return -Errno.EINVAL.value();
                }
                TcpEndpoint child = tcp.listener.poll();
                if (child != null) {
                    return fds.install(new SimulatedSocket(s.domain, s.type, false, child));
                }
                if (s.nonblocking) {
                    return -Errno.EAGAIN.value();
                }
                network.await();
            }
        });
    }

    /** inet_getname for the local side: the wildcard and port 0 when unbound. */
    int getsockname(int fd, MemorySegment buffer) {
        return (int) onSocket(fd, (s, tcp) -> {
            InetSocketAddress local = tcp.local != null ? tcp.local : new InetSocketAddress(wildcard(s.domain), 0);
            return write(s, buffer, local);
        });
    }

    /** inet_getname for the peer: ENOTCONN unless connected. */
    int getpeername(int fd, MemorySegment buffer) {
        return (int) onSocket(fd, (s, tcp) -> {
            if (tcp.remote == null || tcp.state == TCP_CLOSE) {
                return -Errno.ENOTCONN.value();
            }
            return write(s, buffer, tcp.remote);
        });
    }

    /** An AF_INET6 socket reports an IPv4 address IPv4-mapped (::ffff:a.b.c.d). */
    private static int write(SimulatedSocket s, MemorySegment buffer, InetSocketAddress address) {
        byte[] raw = address.getAddress().getAddress();
        if (s.domain == AF_INET6 && raw.length == 4) {
            byte[] mapped = new byte[16];
            mapped[10] = (byte) 0xff;
            mapped[11] = (byte) 0xff;
            System.arraycopy(raw, 0, mapped, 12, 4);
            raw = mapped;
        }
        return SocketAddresses.write(buffer, s.domain, raw, address.getPort());
    }

    /** tcp_sendmsg: see {@link TcpEndpoint#send}. */
    long send(int fd, MemorySegment buffer, int flags) {
        return onSocket(fd, (s, tcp) -> {
            requireFlags(flags, SocketConstants.MSG_DONTWAIT | SocketConstants.MSG_NOSIGNAL, "send");
            return tcp.send(buffer, s.nonblocking || (flags & SocketConstants.MSG_DONTWAIT) != 0);
        });
    }

    /** tcp_recvmsg: see {@link TcpEndpoint#receive}. */
    long recv(int fd, MemorySegment buffer, int flags) {
        return onSocket(fd, (s, tcp) -> {
            requireFlags(flags, SocketConstants.MSG_DONTWAIT | SocketConstants.MSG_PEEK, "recv");
            return tcp.receive(buffer, (flags & SocketConstants.MSG_PEEK) != 0,
                    s.nonblocking || (flags & SocketConstants.MSG_DONTWAIT) != 0);
        });
    }

    /** tcp_ioctl: SIOCINQ, SIOCOUTQ and SIOCOUTQNSD, EINVAL on a listening socket. */
    int ioctl(int fd, long request) {
        SimulatedSocket s = socket(fd);
        if (s == null) {
            if (fds.get(fd) == null) {
                return -Errno.EBADF.value();
            }
            throw new UnsupportedOperationException("the simulated kernel models ioctl on TCP sockets only");
        }
        TcpEndpoint tcp = inet(s);
        synchronized (network) {
            if (request != SocketConstants.SIOCINQ && request != SocketConstants.SIOCOUTQ
                    && request != SocketConstants.SIOCOUTQNSD) {
                throw new UnsupportedOperationException("the simulated kernel models SIOCINQ, SIOCOUTQ and SIOCOUTQNSD"
                        + " only, not ioctl 0x" + Long.toHexString(request));
            }
            if (tcp.state == TCP_LISTEN) {
                return -Errno.EINVAL.value();
            }
            return request == SocketConstants.SIOCINQ ? tcp.inq()
                    : request == SocketConstants.SIOCOUTQ ? tcp.outq() : tcp.unsent();
        }
    }

    /** The checks of sockfd_lookup, then {@code call} on the socket's TCP endpoint under the network's monitor. */
    private long onSocket(int fd, SocketCall call) {
        SimulatedSocket s = socket(fd);
        if (s == null) {
            return lookupError(fd);
        }
        TcpEndpoint tcp = inet(s);
        synchronized (network) {
            return call.call(s, tcp);
        }
    }

    @FunctionalInterface
    private interface SocketCall {
        long call(SimulatedSocket socket, TcpEndpoint tcp);
    }

    /** Damage from outside the process: see {@link TcpEndpoint#peerResets} and {@link TcpEndpoint#stallPeer}. */
    void damagePeer(int fd, java.util.function.Consumer<TcpEndpoint> damage) {
        SimulatedSocket s = socket(fd);
        if (s == null) {
            throw new IllegalArgumentException("descriptor " + fd + " is not a socket of this simulated kernel");
        }
        TcpEndpoint tcp = inet(s);
        synchronized (network) {
            damage.accept(tcp);
        }
    }

    SimulatedNetwork network() {
        return network;
    }

    /**
     * The TCP endpoint of an AF_INET or AF_INET6 socket; AF_UNIX sockets are modelled for socketpair, sendmsg and
     * recvmsg only ({@link UnixSockets}).
     */
    static TcpEndpoint inet(SimulatedSocket s) {
        if (s.tcp == null) {
            throw new UnsupportedOperationException("the simulated kernel models AF_UNIX sockets for socketpair, sendmsg and recvmsg only");
        }
        return s.tcp;
    }

    private static void requireFlags(int flags, int modelled, String call) {
        if ((flags & ~modelled) != 0) {
            throw new UnsupportedOperationException("the simulated kernel does not model " + call + " flags 0x"
                    + Integer.toHexString(flags & ~modelled));
        }
    }

    private static InetAddress wildcard(int domain) {
        try {
            return InetAddress.getByAddress(new byte[domain == AF_INET ? 4 : 16]);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }
}
