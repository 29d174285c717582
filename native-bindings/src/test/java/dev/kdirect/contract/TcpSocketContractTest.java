package dev.kdirect.contract;

import static dev.kdirect.SocketConstants.AF_INET;
import static dev.kdirect.SocketConstants.AF_INET6;
import static dev.kdirect.SocketConstants.MSG_DONTWAIT;
import static dev.kdirect.SocketConstants.MSG_NOSIGNAL;
import static dev.kdirect.SocketConstants.MSG_PEEK;
import static dev.kdirect.SocketConstants.SIOCINQ;
import static dev.kdirect.SocketConstants.SIOCOUTQ;
import static dev.kdirect.SocketConstants.SIOCOUTQNSD;
import static dev.kdirect.SocketConstants.SOCK_NONBLOCK;
import static dev.kdirect.SocketConstants.SOCK_STREAM;
import static dev.kdirect.SocketConstants.SOL_SOCKET;
import static dev.kdirect.SocketConstants.SOL_TCP;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Binding;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.OpenFlags;
import dev.kdirect.SocketConstants;
import dev.kdirect.testing.RequiresRealKernel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Plain TCP on loopback, compared value by value: each scenario runs on the real kernel and on a simulated process
 * in the same run, and the simulated answers (addresses, ports' ranges, errno names, option values, queue sizes)
 * must equal the real ones. On FFM and JNA the binding under test is the real side; on the simulated binding the
 * real side is FFM. TCP repair is TcpRepairContractTest's; this suite needs no privilege beyond an ordinary socket.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Binding.class)
@RequiresRealKernel
@Timeout(60) // a model that loses a byte blocks a read forever
class TcpSocketContractTest {
    @Parameter
    Binding binding;

    Kernel real;
    Kernel simulated;
    final List<Tcp> opened = new ArrayList<>();

    @BeforeEach
    void setUp() {
        real = ContractKernels.realSideOf(binding);
        // every call on the model bounded: a mutant that blocks a read fails here, not at PIT's timeout
        simulated = TestDeadline.watched(binding.isReal() ? ContractKernels.kernel(Binding.SIMULATED)
                : ContractKernels.kernel(binding));
    }

    @AfterEach
    void tearDown() throws KernelException {
        for (Tcp t : opened) {
            t.close();
        }
    }

    /** Runs the scenario on both kernels; the simulated answers must equal the real ones. */
    private Map<String, String> agree(Scenario scenario) throws Exception {
        return ContractKernels.assertSimulatedAgrees(real, simulated, k -> {
            Tcp t = new Tcp(k);
            opened.add(t);
            scenario.run(t);
            return t.answers;
        });
    }

    @FunctionalInterface
    private interface Scenario {
        void run(Tcp t) throws Exception;
    }

    @Test
    void socketChecksTheTypeFlagsBeforeTheFamily() throws Exception {
        // net/socket.c __sys_socket: flags outside SOCK_TYPE_MASK | SOCK_CLOEXEC | SOCK_NONBLOCK are EINVAL before
        // __sock_create looks at the family (EAFNOSUPPORT past NPROTO).
        Map<String, String> a = agree(t -> {
            t.step("badFlags", () -> t.socket(AF_INET, SOCK_STREAM | 0x100));
            t.step("badFlagsAndFamily", () -> t.socket(4242, SOCK_STREAM | 0x100));
            t.step("badFamily", () -> t.socket(4242, SOCK_STREAM));
            t.step("nonblocking6", () -> t.socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK));
        });
        assertThat(a).containsEntry("badFlagsAndFamily", "EINVAL").containsEntry("badFamily", "EAFNOSUPPORT");
    }

    @Test
    void unboundSocketsGetEphemeralPortsAndTheWildcardMeansLoopback() throws Exception {
        Map<String, String> a = agree(t -> {
            int v6 = t.socket(AF_INET6, SOCK_STREAM);
            t.put("unbound6", t.name(v6));
            t.step("listenUnbound", () -> t.k.listen(v6, 4));
            t.put("listening6", t.name(v6));
            t.step("listenAgain", () -> t.k.listen(v6, 4));
            // an address of no interface here (TEST-NET-1, ip_nonlocal_bind 0): __inet_bind's EADDRNOTAVAIL
            t.step("bindNotLocal", () -> t.k.bind(t.socket(AF_INET, SOCK_STREAM),
                    new InetSocketAddress(InetAddress.ofLiteral("192.0.2.1"), 0)));
            // __inet_bind: a bound socket is EINVAL; inet_accept: so is accept on one that does not listen;
            // sockfd_lookup: a descriptor that is not a socket is ENOTSOCK, one that is not open EBADF
            InetSocketAddress loopback = new InetSocketAddress(InetAddress.ofLiteral("127.0.0.1"), 0);
            int once = t.socket(AF_INET, SOCK_STREAM);
            t.k.bind(once, loopback);
            t.step("bindTwice", () -> t.k.bind(once, loopback));
            t.step("acceptNotListening", () -> t.k.accept(once));
            int directory = t.k.open("/", OpenFlags.RDONLY | OpenFlags.DIRECTORY, 0);
            t.fds.add(directory);
            t.step("bindADirectory", () -> t.k.bind(directory, loopback));
            t.step("bindNotOpen", () -> t.k.bind(99_999, loopback));
            int c6 = t.socket(AF_INET6, SOCK_STREAM);
            // tcp_v6_connect: connecting to :: connects to ::1; tcp_v4_connect (ip_route_connect): 0.0.0.0 is 127.0.0.1
            t.k.connect(c6, new InetSocketAddress(InetAddress.ofLiteral("::"), t.k.getsockname(v6).getPort()));
            t.put("peerOfAny6", t.peer(c6).equals(t.name(v6).replace("[::]", "[::1]")));
            t.put("source6", t.name(c6));
            t.step("listenConnected", () -> t.k.listen(c6, 4));
            t.step("connectAgain", () -> t.k.connect(c6, t.k.getsockname(v6)));

            int v4 = t.listener("0.0.0.0");
            int c4 = t.socket(AF_INET, SOCK_STREAM);
            t.k.connect(c4, t.k.getsockname(v4));
            t.put("peerOfAny4", t.peer(c4).equals(t.name(v4).replace("0.0.0.0", "127.0.0.1")));
            int s4 = t.accept(v4);
            t.put("accepted4", t.name(s4).equals(t.peer(c4)) + " " + t.peer(s4).equals(t.name(c4)));
        });
        assertThat(a).containsEntry("unbound6", "[::]:0").containsEntry("listening6", "[::]:ephemeral")
                .containsEntry("peerOfAny6", "true").containsEntry("peerOfAny4", "true")
                .containsEntry("bindNotLocal", "EADDRNOTAVAIL").containsEntry("bindTwice", "EINVAL")
                .containsEntry("acceptNotListening", "EINVAL").containsEntry("bindADirectory", "ENOTSOCK")
                .containsEntry("bindNotOpen", "EBADF");
    }

    @Test
    void theSourceAddressIsTheBoundOneUnlessItIsTheWildcard() throws Exception {
        Map<String, String> a = agree(t -> {
            int listener = t.listener("127.0.0.1");
            int other = t.socket(AF_INET, SOCK_STREAM);
            t.k.bind(other, new InetSocketAddress(InetAddress.ofLiteral("127.0.0.2"), 0));
            t.k.connect(other, t.k.getsockname(listener));
            t.put("bound127.0.0.2", t.name(other));
            int any = t.socket(AF_INET, SOCK_STREAM);
            t.k.bind(any, new InetSocketAddress(InetAddress.ofLiteral("0.0.0.0"), 0));
            int port = t.k.getsockname(any).getPort();
            t.k.connect(any, t.k.getsockname(listener));
            t.put("boundAnyKeepsItsPort", t.k.getsockname(any).getPort() == port);
            t.put("boundAny", t.name(any));
            // a listener on 127.0.0.1 does not take a SYN for 127.0.0.2 (nobody listens there: a RST)
            int elsewhere = t.socket(AF_INET, SOCK_STREAM);
            t.step("connect127.0.0.2", () -> t.k.connect(elsewhere,
                    new InetSocketAddress(InetAddress.ofLiteral("127.0.0.2"), t.k.getsockname(listener).getPort())));
        });
        assertThat(a).containsEntry("bound127.0.0.2", "127.0.0.2:ephemeral")
                .containsEntry("boundAny", "127.0.0.1:ephemeral").containsEntry("connect127.0.0.2", "ECONNREFUSED");
    }

    @Test
    void aDualStackListenerTakesIpv4ConnectionsAndNamesThemAsIpv4() throws Exception {
        agree(t -> {
            int listener = t.socket(AF_INET6, SOCK_STREAM);
            t.k.bind(listener, new InetSocketAddress(InetAddress.ofLiteral("::"), 0));
            t.k.listen(listener, 4);
            int port = t.k.getsockname(listener).getPort();
            int c4 = t.socket(AF_INET, SOCK_STREAM);
            t.k.connect(c4, new InetSocketAddress(InetAddress.ofLiteral("127.0.0.1"), port));
            int s = t.accept(listener);
            t.put("acceptedName", t.name(s)); // ::ffff:127.0.0.1, which decodes as the IPv4 address
            t.put("acceptedPeerIsTheClient", t.peer(s).equals(t.name(c4)));
            t.send(c4, "v4");
            t.put("read", t.read(s, 2));
            // the address families do not mix on the caller's side: sockaddr_in is too short for tcp_v6_connect,
            // and inet_bind / tcp_v4_connect refuse a sockaddr_in6
            int c6 = t.socket(AF_INET6, SOCK_STREAM);
            t.step("connect6To4", () -> t.k.connect(c6, new InetSocketAddress(InetAddress.ofLiteral("127.0.0.1"), port)));
            t.step("bind6To4", () -> t.k.bind(c6, new InetSocketAddress(InetAddress.ofLiteral("127.0.0.1"), 0)));
            int other4 = t.socket(AF_INET, SOCK_STREAM);
            t.step("connect4To6", () -> t.k.connect(other4, new InetSocketAddress(InetAddress.ofLiteral("::1"), port)));
        });
    }

    @Test
    void aPortIsSharedOnlyByDistinctAddressesOrByReuseWhileNoneListens() throws Exception {
        Map<String, String> a = agree(t -> {
            int first = t.socket(AF_INET, SOCK_STREAM);
            t.setInt(first, SOL_SOCKET, SocketConstants.SO_REUSEADDR, 1);
            t.k.bind(first, new InetSocketAddress(InetAddress.ofLiteral("127.0.0.1"), 0));
            int port = t.k.getsockname(first).getPort();
            t.step("sameWithoutReuse", () -> t.bindNew(AF_INET, "127.0.0.1", port, false));
            t.step("sameBothReuse", () -> t.bindNew(AF_INET, "127.0.0.1", port, true));
            t.step("wildcard4", () -> t.bindNew(AF_INET, "0.0.0.0", port, false));
            t.step("dualStackWildcard", () -> t.bindNew(AF_INET6, "::", port, false));
            t.step("otherLoopbackAddress", () -> t.bindNew(AF_INET, "127.0.0.2", port, false));
            t.step("ipv6Loopback", () -> t.bindNew(AF_INET6, "::1", port, false));
            t.k.listen(first, 4);
            t.step("reuseAgainstAListener", () -> t.bindNew(AF_INET, "127.0.0.1", port, true));
        });
        assertThat(a).containsEntry("sameWithoutReuse", "EADDRINUSE").containsEntry("sameBothReuse", "ok")
                .containsEntry("dualStackWildcard", "EADDRINUSE").containsEntry("ipv6Loopback", "ok")
                .containsEntry("reuseAgainstAListener", "EADDRINUSE");
    }

    @Test
    void aFinIsCountedInSequenceButNotAsABytesWorthOfData() throws Exception {
        // tcp_ioctl / tcp_inq (net/ipv4/tcp.c): rcv_nxt - copied_seq, less one once the FIN is in (SOCK_DONE)
        Map<String, String> a = agree(t -> {
            Pair p = t.pair("127.0.0.1");
            t.send(p.client(), "abc");
            t.k.close(t.forget(p.client()));
            t.awaitState(p.server(), SocketConstants.TCP_CLOSE_WAIT);
            t.put("inqWithFin", t.k.ioctlInt(p.server(), SIOCINQ));
            t.put("emptyBuffer", t.k.recv(p.server(), t.buffer(0), 0));
            t.put("peek", t.recv(p.server(), 8, MSG_PEEK));
            t.put("read", t.recv(p.server(), 8, 0));
            t.put("end", t.recv(p.server(), 8, 0));
            t.put("inqAtEnd", t.k.ioctlInt(p.server(), SIOCINQ));
            t.put("peerInCloseWait", t.peer(p.server()).equals(t.name(p.listener())) ? "kept" : "changed");
            t.put("info", t.info(p.server()));
        });
        assertThat(a).containsEntry("inqWithFin", "3").containsEntry("read", "abc").containsEntry("end", "")
                .containsEntry("inqAtEnd", "0");
    }

    @Test
    void closingWithUnreadBytesResetsThePeerWhoseNextCallSaysSoOnce() throws Exception {
        // tcp_close sends a RST when unread data is discarded; tcp_reset sets ECONNRESET and tcp_done SOCK_DONE:
        // the next call reports the error once (sock_error), then recv reads end of stream and send gets EPIPE
        Map<String, String> a = agree(t -> {
            for (boolean recvFirst : new boolean[] {true, false}) {
                Pair p = t.pair("127.0.0.1");
                t.send(p.server(), "unread");
                t.awaitQueued(p.client(), 6);
                t.k.close(t.forget(p.client()));
                t.awaitState(p.server(), SocketConstants.TCP_CLOSE);
                String prefix = recvFirst ? "recvFirst." : "sendFirst.";
                if (recvFirst) {
                    t.step(prefix + "recv", () -> t.recv(p.server(), 8, 0));
                    t.step(prefix + "recvAgain", () -> t.put("recvFirst.then", t.recv(p.server(), 8, 0)));
                } else {
                    t.step(prefix + "send", () -> t.k.send(p.server(), t.buffer(1), MSG_NOSIGNAL));
                }
                t.step(prefix + "sendAfter", () -> t.k.send(p.server(), t.buffer(1), MSG_NOSIGNAL));
                t.step(prefix + "peer", () -> t.k.getpeername(p.server()));
            }
        });
        assertThat(a).containsEntry("recvFirst.recv", "ECONNRESET").containsEntry("recvFirst.then", "")
                .containsEntry("sendFirst.send", "ECONNRESET").containsEntry("sendFirst.sendAfter", "EPIPE");
    }

    @Test
    void closingAListenerResetsTheConnectionsNobodyAccepted() throws Exception {
        // inet_csk_listen_stop: each child still in the accept queue is disconnected with a RST (tcp_disconnect)
        Map<String, String> a = agree(t -> {
            int listener = t.listener("127.0.0.1");
            int client = t.socket(AF_INET, SOCK_STREAM);
            t.k.connect(client, t.k.getsockname(listener));
            t.k.close(t.forget(listener));
            t.awaitState(client, SocketConstants.TCP_CLOSE);
            t.step("recv", () -> t.recv(client, 8, 0));
            t.step("recvAgain", () -> t.put("then", t.recv(client, 8, 0)));
        });
        assertThat(a).containsEntry("recv", "ECONNRESET").containsEntry("then", "");
    }

    @Test
    void nonBlockingSocketsSayEagainAndEinprogressInsteadOfWaiting() throws Exception {
        Map<String, String> a = agree(t -> {
            int listener = t.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
            t.k.bind(listener, new InetSocketAddress(InetAddress.ofLiteral("127.0.0.1"), 0));
            t.k.listen(listener, 4);
            t.step("acceptNone", () -> t.k.accept(listener));
            int client = t.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
            t.step("connect", () -> t.k.connect(client, t.k.getsockname(listener)));
            int server = t.awaitAccept(listener);
            // inet_stream_connect: once the handshake is done the next connect answers 0, the one after EISCONN
            t.step("connectDone", () -> t.k.connect(client, t.k.getsockname(listener)));
            t.step("connectConnected", () -> t.k.connect(client, t.k.getsockname(listener)));
            t.step("recvNothing", () -> t.k.recv(client, t.buffer(8), 0));
            t.step("acceptedIsBlocking", () -> t.k.recv(server, t.buffer(8), MSG_DONTWAIT));
            // the peer does not read: the send buffer and the peer's receive buffer fill, then EAGAIN
            t.setInt(client, SOL_SOCKET, SocketConstants.SO_SNDBUF, 4096);
            MemorySegment chunk = t.buffer(65536);
            String last = "ok";
            for (int i = 0; i < 10_000 && last.equals("ok"); i++) {
                last = Tcp.outcome(() -> t.k.send(client, chunk, MSG_NOSIGNAL));
            }
            t.put("sendUntilFull", last);
        });
        assertThat(a).containsEntry("acceptNone", "EAGAIN").containsEntry("connect", "EINPROGRESS")
                .containsEntry("connectDone", "ok").containsEntry("connectConnected", "EISCONN")
                .containsEntry("recvNothing", "EAGAIN").containsEntry("sendUntilFull", "EAGAIN");
    }

    @Test
    void optionsReadBackAsTheKernelStoresThemAtTheirLimits() throws Exception {
        agree(t -> {
            int fd = t.socket(AF_INET, SOCK_STREAM);
            int[][] settings = {
                    {SOL_SOCKET, SocketConstants.SO_SNDBUF, 1}, {SOL_SOCKET, SocketConstants.SO_RCVBUF, 1},
                    {SOL_SOCKET, SocketConstants.SO_RCVBUF, -1}, {SOL_SOCKET, SocketConstants.SO_SNDBUF, -1},
                    {SOL_SOCKET, SocketConstants.SO_RCVBUFFORCE, -1}, {SOL_SOCKET, SocketConstants.SO_SNDBUFFORCE, -5},
                    {SOL_SOCKET, SocketConstants.SO_RCVBUFFORCE, 100_000},
                    {SOL_SOCKET, SocketConstants.SO_REUSEADDR, 7}, {SOL_SOCKET, SocketConstants.SO_REUSEADDR, 0},
                    {SOL_SOCKET, SocketConstants.SO_KEEPALIVE, 1}, {SOL_SOCKET, SocketConstants.SO_KEEPALIVE, 0},
                    {SOL_TCP, SocketConstants.TCP_NODELAY, 2}, {SOL_TCP, SocketConstants.TCP_NODELAY, 0},
                    {SOL_TCP, SocketConstants.TCP_MAXSEG, 88}, {SOL_TCP, SocketConstants.TCP_MAXSEG, 32767},
                    {SOL_TCP, SocketConstants.TCP_MAXSEG, 0}};
            for (int[] s : settings) {
                String name = s[0] + "/" + s[1] + "=" + s[2];
                t.step(name, () -> t.setInt(fd, s[0], s[1], s[2]));
                // the FORCE variants are set-only (sk_getsockopt: ENOPROTOOPT); they set SO_SNDBUF and SO_RCVBUF
                int read = s[1] == SocketConstants.SO_RCVBUFFORCE ? SocketConstants.SO_RCVBUF
                        : s[1] == SocketConstants.SO_SNDBUFFORCE ? SocketConstants.SO_SNDBUF : s[1];
                t.put(name + " reads", t.getInt(fd, s[0], read));
            }
            t.put("type", t.getInt(fd, SOL_SOCKET, SocketConstants.SO_TYPE));
            t.put("protocol", t.getInt(fd, SOL_SOCKET, SocketConstants.SO_PROTOCOL));
            t.step("shortSocketLevelValue", () -> t.k.setsockopt(fd, SOL_SOCKET, SocketConstants.SO_KEEPALIVE,
                    t.buffer(3)));
            t.put("repair", t.getInt(fd, SOL_TCP, SocketConstants.TCP_REPAIR));
            t.step("repairQueueOutsideRepair", () -> t.getInt(fd, SOL_TCP, SocketConstants.TCP_REPAIR_QUEUE));
            t.step("queueSeqWithoutQueue", () -> t.getInt(fd, SOL_TCP, SocketConstants.TCP_QUEUE_SEQ));
            t.put("info", t.info(fd));
            t.put("infoLength8", t.k.getsockopt(fd, SOL_TCP, SocketConstants.TCP_INFO, t.buffer(8)));
            t.put("noDelayLength2", t.k.getsockopt(fd, SOL_TCP, SocketConstants.TCP_NODELAY, t.buffer(2)));
            // a zero-length buffer is no error (the value is cut to nothing); full buffers get the int's length
            t.put("noDelayLength0", t.k.getsockopt(fd, SOL_TCP, SocketConstants.TCP_NODELAY, t.buffer(0)));
            for (int option : new int[] {SocketConstants.SO_TYPE, SocketConstants.SO_PROTOCOL,
                    SocketConstants.SO_KEEPALIVE}) {
                t.put("length of " + option, t.k.getsockopt(fd, SOL_SOCKET, option, t.buffer(4)));
            }
            for (long request : new long[] {SIOCINQ, SIOCOUTQ, SIOCOUTQNSD}) {
                t.step("unconnected ioctl " + request, () -> t.put("unconnected ioctl value " + request,
                        t.k.ioctlInt(fd, request)));
            }
            t.k.listen(fd, 4);
            for (long request : new long[] {SIOCINQ, SIOCOUTQ, SIOCOUTQNSD}) {
                t.step("listening ioctl " + request, () -> t.k.ioctlInt(fd, request));
            }
            t.step("peerOfListener", () -> t.k.getpeername(fd));
            t.step("ioctlNotOpen", () -> t.k.ioctlInt(99_999, SIOCINQ));
            t.step("recvNeverConnected", () -> t.k.recv(t.socket(AF_INET, SOCK_STREAM), t.buffer(8), MSG_DONTWAIT));
        });
    }

    @Test
    void theHandshakeSetsTheMssAndOptionsAndAListenersSettingsPassToItsConnections() throws Exception {
        // On loopback (MTU 65536) the MSS is 65535 less the IP and TCP headers and a timestamp option's 12 bytes,
        // and the connecting end bounds it to half the SYN-ACK's window (tcp_bound_to_half_wnd); the window scale
        // follows the largest receive buffer allowed, or SO_RCVBUF's; a TCP_MAXSEG on either end clamps both
        // ends' MSS, and an accepted socket inherits its listener's options.
        agree(t -> {
            for (String host : new String[] {"127.0.0.1", "::1"}) {
                for (int buffer : new int[] {0, 4096, 100_000}) {
                    Pair p = t.pair(host, buffer);
                    String name = host + " SO_RCVBUF " + buffer;
                    t.put(name + " mss", t.getInt(p.client(), SOL_TCP, SocketConstants.TCP_MAXSEG));
                    t.put(name + " info", t.info(p.client()));
                    t.put(name + " serverInfo", t.info(p.server()));
                }
            }
            int listener = t.socket(AF_INET, SOCK_STREAM);
            t.setInt(listener, SOL_TCP, SocketConstants.TCP_MAXSEG, 1000);
            t.setInt(listener, SOL_TCP, SocketConstants.TCP_NODELAY, 1);
            t.setInt(listener, SOL_SOCKET, SocketConstants.SO_KEEPALIVE, 1);
            t.k.bind(listener, new InetSocketAddress(InetAddress.ofLiteral("127.0.0.1"), 0));
            t.k.listen(listener, 4);
            t.put("listenerMss", t.getInt(listener, SOL_TCP, SocketConstants.TCP_MAXSEG));
            int client = t.socket(AF_INET, SOCK_STREAM);
            t.k.connect(client, t.k.getsockname(listener));
            int server = t.accept(listener);
            for (int[] option : new int[][] {{SOL_TCP, SocketConstants.TCP_MAXSEG},
                    {SOL_TCP, SocketConstants.TCP_NODELAY}, {SOL_SOCKET, SocketConstants.SO_KEEPALIVE}}) {
                t.put("accepted " + option[1], t.getInt(server, option[0], option[1]));
            }
            t.put("clientMss", t.getInt(client, SOL_TCP, SocketConstants.TCP_MAXSEG));
        });
    }

    @Test
    void bytesArriveWholeThroughBuffersSmallerThanTheData() throws Exception {
        // the receiver's window limits what the sender transmits; reading opens it again (a queue that grows and
        // wraps in the model)
        agree(t -> {
            Pair p = t.pair("127.0.0.1");
            String data = "0123456789abcdef".repeat(20_000);
            t.setInt(p.client(), SOL_SOCKET, SocketConstants.SO_SNDBUF, 4096);
            t.setInt(p.server(), SOL_SOCKET, SocketConstants.SO_RCVBUF, 4096);
            Thread writer = Thread.ofPlatform().start(() -> {
                try {
                    t.send(p.client(), data);
                } catch (KernelException e) {
                    throw new IllegalStateException(e);
                }
            });
            t.put("whole", t.read(p.server(), data.length()).equals(data));
            writer.join();
            t.put("outqAfter", t.k.ioctlInt(p.client(), SIOCOUTQ));
        });
    }

    record Pair(int listener, int client, int server) {
    }

    /** One kernel's sockets in a scenario: the calls, and the answers recorded by name. */
    private static final class Tcp {
        final Kernel k;
        final Arena arena = Arena.ofShared();
        final List<Integer> fds = new ArrayList<>();
        final Map<String, String> answers = new LinkedHashMap<>();
        private final int[] ephemeral = ephemeralRange();

        Tcp(Kernel k) {
            this.k = k;
        }

        @FunctionalInterface
        interface Call {
            void run() throws Exception;
        }

        /** The call's value, or the errno name of its failure. */
        static String outcome(Call call) throws Exception {
            try {
                call.run();
                return "ok";
            } catch (KernelException e) {
                return e.errnoName();
            }
        }

        void step(String name, Call call) throws Exception {
            answers.put(name, outcome(call));
        }

        void put(String name, Object value) {
            answers.put(name, String.valueOf(value));
        }

        int socket(int domain, int type) throws KernelException {
            int fd = k.socket(domain, type, 0);
            fds.add(fd);
            return fd;
        }

        int forget(int fd) {
            fds.remove(Integer.valueOf(fd));
            return fd;
        }

        int listener(String host) throws KernelException {
            InetAddress address = InetAddress.ofLiteral(host);
            int fd = socket(address.getAddress().length == 4 ? AF_INET : AF_INET6, SOCK_STREAM);
            k.bind(fd, new InetSocketAddress(address, 0));
            k.listen(fd, 4);
            return fd;
        }

        int accept(int listener) throws KernelException {
            int fd = k.accept(listener);
            fds.add(fd);
            return fd;
        }

        Pair pair(String host) throws KernelException {
            return pair(host, 0);
        }

        /** A connection on loopback; SO_RCVBUF {@code receiveBuffer} (0: left) on both ends before the handshake. */
        Pair pair(String host, int receiveBuffer) throws KernelException {
            InetAddress address = InetAddress.ofLiteral(host);
            int domain = address.getAddress().length == 4 ? AF_INET : AF_INET6;
            int listener = socket(domain, SOCK_STREAM);
            int client = socket(domain, SOCK_STREAM);
            if (receiveBuffer > 0) {
                setInt(listener, SOL_SOCKET, SocketConstants.SO_RCVBUF, receiveBuffer);
                setInt(client, SOL_SOCKET, SocketConstants.SO_RCVBUF, receiveBuffer);
            }
            k.bind(listener, new InetSocketAddress(address, 0));
            k.listen(listener, 4);
            k.connect(client, k.getsockname(listener));
            return new Pair(listener, client, accept(listener));
        }

        /** Binds a new socket (closed at the end) to host:port, with or without SO_REUSEADDR. */
        void bindNew(int domain, String host, int port, boolean reuse) throws KernelException {
            int fd = socket(domain, SOCK_STREAM);
            if (reuse) {
                setInt(fd, SOL_SOCKET, SocketConstants.SO_REUSEADDR, 1);
            }
            k.bind(fd, new InetSocketAddress(InetAddress.ofLiteral(host), port));
        }

        /** The local address, its port shown as "ephemeral" when in ip_local_port_range (it differs per run). */
        String name(int fd) throws KernelException {
            return show(k.getsockname(fd));
        }

        String peer(int fd) throws KernelException {
            return show(k.getpeername(fd));
        }

        private String show(InetSocketAddress a) {
            String host = a.getAddress().getHostAddress();
            String shown = host.contains(":") ? "[" + (host.equals("0:0:0:0:0:0:0:0") ? "::"
                    : host.equals("0:0:0:0:0:0:0:1") ? "::1" : host) + "]" : host;
            int port = a.getPort();
            return shown + ":" + (port >= ephemeral[0] && port <= ephemeral[1] ? "ephemeral" : port);
        }

        void setInt(int fd, int level, int option, int value) throws KernelException {
            k.setsockopt(fd, level, option, arena.allocateFrom(JAVA_INT, value));
        }

        int getInt(int fd, int level, int option) throws KernelException {
            MemorySegment value = arena.allocate(JAVA_INT);
            k.getsockopt(fd, level, option, value);
            return value.get(JAVA_INT, 0);
        }

        /** TCP_INFO's tcpi_state, tcpi_options and the window scales (snd in the low nibble, rcv in the high). */
        String info(int fd) throws KernelException {
            MemorySegment info = buffer(104);
            k.getsockopt(fd, SOL_TCP, SocketConstants.TCP_INFO, info);
            return "state " + info.get(JAVA_BYTE, 0) + " options " + info.get(JAVA_BYTE, 5) + " wscale "
                    + Integer.toHexString(info.get(JAVA_BYTE, 6) & 0xff);
        }

        MemorySegment buffer(int size) {
            return arena.allocate(Math.max(1, size)).asSlice(0, size);
        }

        void send(int fd, String text) throws KernelException {
            byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
            MemorySegment data = buffer(bytes.length);
            MemorySegment.copy(bytes, 0, data, JAVA_BYTE, 0, bytes.length);
            for (long done = 0; done < bytes.length; ) {
                done += k.send(fd, data.asSlice(done), MSG_NOSIGNAL);
            }
        }

        String recv(int fd, int capacity, int flags) throws KernelException {
            MemorySegment b = buffer(capacity);
            long n = k.recv(fd, b, flags);
            return new String(b.asSlice(0, n).toArray(JAVA_BYTE), StandardCharsets.US_ASCII);
        }

        /** Exactly {@code length} bytes, read with blocking recv. */
        String read(int fd, int length) throws KernelException {
            StringBuilder text = new StringBuilder();
            while (text.length() < length) {
                String part = recv(fd, Math.min(65536, length - text.length()), 0);
                if (part.isEmpty()) {
                    throw new AssertionError("end of stream after " + text.length() + " of " + length + " bytes");
                }
                text.append(part);
            }
            return text.toString();
        }

        void awaitQueued(int fd, int bytes) throws Exception {
            await(bytes + " bytes queued on " + fd, () -> k.ioctlInt(fd, SIOCINQ) >= bytes);
        }

        void awaitState(int fd, int state) throws Exception {
            MemorySegment info = buffer(8);
            await("TCP state " + state + " on " + fd, () -> {
                k.getsockopt(fd, SOL_TCP, SocketConstants.TCP_INFO, info);
                return info.get(JAVA_BYTE, 0) == state;
            });
        }

        /** accept on a non-blocking listener, once the handshake is done. */
        int awaitAccept(int listener) throws Exception {
            int[] fd = {-1};
            await("a connection to accept", () -> {
                try {
                    fd[0] = accept(listener);
                    return true;
                } catch (KernelException e) {
                    return false; // EAGAIN until the handshake completes
                }
            });
            return fd[0];
        }

        @FunctionalInterface
        interface Condition {
            boolean holds() throws Exception;
        }

        /** Polls until the condition holds; fails only past a deadline far beyond any loopback delay. */
        static void await(String what, Condition condition) throws Exception {
            long deadline = System.nanoTime() + TestDeadline.get().toNanos();
            while (!condition.holds()) {
                if (System.nanoTime() - deadline > 0) {
                    throw new AssertionError("never happened: " + what);
                }
                Thread.sleep(1);
            }
        }

        private static int[] ephemeralRange() {
            try {
                // by lines: Files.readString of a /proc/sys file can return only its first byte (SocketSettings)
                String[] range = Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).getFirst()
                        .trim().split("\\s+");
                return new int[] {Integer.parseInt(range[0]), Integer.parseInt(range[1])};
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        void close() throws KernelException {
            for (int fd : fds.reversed()) {
                k.close(fd);
            }
            fds.clear();
            arena.close();
        }
    }
}
