package dev.kdirect.tcprepair;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;

import dev.kdirect.Capability;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.Kernels;
import dev.kdirect.ReceivedMessage;
import dev.kdirect.SocketConstants;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * The privileged repair helper: the one process that needs CAP_NET_ADMIN, so that services checkpoint and restore
 * connections without it ({@link TcpRepair#through}). It listens on a Unix domain socket and speaks
 * {@link RepairProtocol}: passt-repair's one-byte TCP_REPAIR toggles with 1 to 253 sockets as SCM_RIGHTS, and
 * kdirect's extension: SO_SNDBUFFORCE / SO_RCVBUFFORCE, and the network lock, taken on the connections of the sockets
 * handed to it (their addresses read from the sockets themselves), held for the client until it unlocks or its
 * connection to the helper closes. The helper and its clients must share a network namespace.
 *
 * <p>It authenticates each client by SO_PEERCRED (uids on the allow-list only: others are logged and disconnected
 * before anything is read), acts only on the sockets it is handed and only if they are TCP sockets (SO_PROTOCOL),
 * closes its copies of them after each request, and reports every acceptance, refusal and action to its log. A
 * refused request or failed option closes the connection, as passt-repair does.
 */
public final class RepairHelper implements AutoCloseable {
    /** What the helper did: one line of its log. */
    public record Event(String kind, PeerInfo client, String detail) {
        @Override
        public String toString() {
            return kind + (client != null ? " " + client : "") + ": " + detail;
        }
    }

    /** The client an event is about (SO_PEERCRED). */
    public record PeerInfo(int pid, int uid, int gid) {
        @Override
        public String toString() {
            return "pid " + pid + " uid " + uid;
        }
    }

    private static final int BACKLOG = 64;

    private final Kernel kernel;
    private final Path path;
    private final Object created; // the socket file's identity: deleted on close only if it is still that one
    private final Set<Integer> allowedUids;
    private final Consumer<Event> log;
    private final int listener;
    private final Thread acceptor;
    private volatile boolean stopping;

    private RepairHelper(Kernel kernel, Path path, Object created, Set<Integer> allowedUids, Consumer<Event> log,
            int listener) {
        this.kernel = kernel;
        this.path = path;
        this.created = created;
        this.allowedUids = Set.copyOf(allowedUids);
        this.log = log;
        this.listener = listener;
        this.acceptor = Thread.ofPlatform().daemon().name("kdirect-repair-helper " + path).unstarted(this::accept);
    }

    /**
     * Starts the helper on the real kernel: binds {@code socket} (its directory must exist, be owned by this user or
     * root and be writable by no one else, and nothing may be at the path: kdirect deletes only the socket it
     * created), lets anyone connect (mode 0666: SO_PEERCRED is the check; the directory's mode may narrow who reaches
     * it) and accepts clients on a thread of its own.
     *
     * @param allowedUids the uids whose processes may use it
     * @param log receives every event, from the helper's threads
     * @throws RepairHelperException without CAP_NET_ADMIN, or when it cannot listen at the path (the message says why)
     */
    public static RepairHelper start(Path socket, Set<Integer> allowedUids, Consumer<Event> log) throws IOException {
        Kernel kernel = Kernels.real();
        if ((kernel.effectiveCapabilities() & (1L << Capability.NET_ADMIN.number())) == 0) {
            throw new RepairHelperException("the repair helper needs CAP_NET_ADMIN: run it as root, or as a systemd"
                    + " service with AmbientCapabilities=CAP_NET_ADMIN");
        }
        if (allowedUids.isEmpty()) {
            throw new IllegalArgumentException("no uid is allowed to use the repair helper");
        }
        UnixDomainSocketAddress address;
        try {
            address = UnixSocketGuard.address(socket);
            UnixSocketGuard.checkListeningPath(socket, "repair helper's socket", "repair helper");
        } catch (MigrationException e) {
            throw new RepairHelperException(e.getMessage(), e);
        }
        int fd = kernel.socket(SocketConstants.AF_UNIX, SocketConstants.SOCK_STREAM | SocketConstants.SOCK_CLOEXEC, 0);
        Object created;
        try {
            try {
                kernel.bind(fd, address);
            } catch (KernelException e) {
                throw new RepairHelperException("cannot listen at " + socket + ": " + e.errnoName(), e);
            }
            // anyone may connect (chown would need CAP_CHOWN, which the helper should not hold): SO_PEERCRED decides
            created = UnixSocketGuard.created(socket, "rw-rw-rw-");
            kernel.listen(fd, BACKLOG);
        } catch (IOException | RuntimeException e) {
            kernel.close(fd);
            throw e;
        }
        RepairHelper helper = new RepairHelper(kernel, socket, created, allowedUids, log, fd);
        helper.log.accept(new Event("listening", null, socket + ", allowed uids " + new TreeSet<>(allowedUids)));
        helper.acceptor.start();
        return helper;
    }

    /** The socket path it listens on. */
    public Path socket() {
        return path;
    }

    /** Waits until the helper is closed (the CLI runs until it is killed). */
    public void join() throws InterruptedException {
        acceptor.join();
    }

    /** Stops accepting and removes the socket file; connections being served finish their request. */
    @Override
    public void close() throws IOException {
        if (stopping) {
            return;
        }
        stopping = true;
        // accept(2) does not return for a close on another thread: a connection of our own wakes it
        int wake = kernel.socket(SocketConstants.AF_UNIX, SocketConstants.SOCK_STREAM | SocketConstants.SOCK_CLOEXEC,
                0);
        try {
            kernel.connect(wake, UnixDomainSocketAddress.of(path));
            acceptor.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            kernel.close(wake);
            kernel.close(listener);
            UnixSocketGuard.deleteIfCreated(path, created);
        }
        log.accept(new Event("stopped", null, path.toString()));
    }

    private void accept() {
        while (!stopping) {
            int connection;
            try {
                connection = kernel.accept(listener);
            } catch (KernelException e) {
                log.accept(new Event("error", null, "accept: " + e.getMessage()));
                continue;
            }
            if (stopping) {
                closeQuietly(connection);
                break;
            }
            Thread.ofPlatform().daemon().name("kdirect-repair-client " + connection).start(() -> serve(connection));
        }
    }

    /** One client: authenticated first, then its requests until it closes or a request fails. */
    private void serve(int connection) {
        try {
            PeerCredentials peer = PeerCredentials.of(kernel, connection);
            PeerInfo client = new PeerInfo(peer.pid(), peer.uid(), peer.gid());
            if (!allowedUids.contains(peer.uid())) {
                log.accept(new Event("refused", client, "uid " + peer.uid() + " is not allowed (allowed: "
                        + new TreeSet<>(allowedUids) + ")"));
                return;
            }
            log.accept(new Event("accepted", client, "gid " + peer.gid()));
            Map<Integer, NetworkLock> locks = new LinkedHashMap<>();
            try {
                while (serveRequest(connection, client, locks)) {
                    // one request at a time, until the client closes or a request fails
                }
            } finally {
                // fail-safe: a client that is gone (or failed) leaves no packets dropped
                for (var lock : locks.entrySet()) {
                    unlock(client, lock.getKey(), lock.getValue(), "the client's connection closed");
                }
            }
        } catch (KernelException e) {
            log.accept(new Event("error", null, e.getMessage()));
        } finally {
            closeQuietly(connection);
        }
    }

    private boolean unlock(PeerInfo client, int id, NetworkLock lock, String why) {
        try {
            lock.close();
            log.accept(new Event("unlocked", client, "lock " + id + " (" + lock.table() + ", " + lock.size()
                    + " connections): " + why));
            return true;
        } catch (IOException | RuntimeException e) {
            log.accept(new Event("failed", client, "unlock " + id + ": " + e.getMessage() + "; "
                    + lock.removal()));
            return false;
        }
    }

    /** Reads, checks and carries out one request; false when the connection is to be closed. */
    private boolean serveRequest(int connection, PeerInfo client, Map<Integer, NetworkLock> locks)
            throws KernelException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment command = arena.allocate(1);
            ReceivedMessage m = kernel.recvmsg(connection, command, SocketConstants.SCM_MAX_FD,
                    SocketConstants.MSG_CMSG_CLOEXEC);
            try {
                if (m.bytes() == 0) {
                    log.accept(new Event("closed", client, "the client closed the connection"));
                    return false;
                }
                byte cmd = command.get(JAVA_BYTE, 0);
                String refusal = refusal(cmd, m);
                if (refusal != null) {
                    log.accept(new Event("refused", client, refusal));
                    return false;
                }
                Integer value = null;
                if (!RepairProtocol.isRepairToggle(cmd)) {
                    value = readValue(connection, arena);
                    if (value == null) {
                        log.accept(new Event("refused", client, RepairProtocol.describe(cmd) + " without its value"));
                        return false;
                    }
                }
                if (cmd == RepairProtocol.LOCK || cmd == RepairProtocol.UNLOCK) {
                    Integer reply = cmd == RepairProtocol.LOCK ? lock(client, locks, value, m.descriptors())
                            : unlock(client, locks, value);
                    if (reply == null) {
                        return false;
                    }
                    MemorySegment answer = arena.allocate(1 + RepairProtocol.VALUE_BYTES);
                    answer.set(JAVA_BYTE, 0, cmd);
                    answer.set(JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.nativeOrder()), 1, reply);
                    return kernel.send(connection, cmd == RepairProtocol.LOCK ? answer : command,
                            SocketConstants.MSG_NOSIGNAL) == (cmd == RepairProtocol.LOCK ? answer.byteSize() : 1);
                }
                List<String> sockets = new ArrayList<>();
                for (int fd : m.descriptors()) {
                    sockets.add(describe(fd));
                    try {
                        apply(arena, fd, cmd, value);
                    } catch (KernelException e) {
                        log.accept(new Event("failed", client, RepairProtocol.describe(cmd) + " on " + describe(fd)
                                + ": " + e.errnoName()));
                        return false;
                    }
                }
                log.accept(new Event("done", client, RepairProtocol.describe(cmd) + (value != null ? " " + value : "")
                        + " on " + sockets));
                return kernel.send(connection, command, SocketConstants.MSG_NOSIGNAL) == 1;
            } finally {
                m.descriptors().forEach(this::closeQuietly);
            }
        }
    }

    /** Why a request is refused before anything is set, or null: the command, the sockets' number and kind. */
    private String refusal(byte cmd, ReceivedMessage m) throws KernelException {
        if (!RepairProtocol.isKnown(cmd)) {
            return RepairProtocol.describe(cmd);
        }
        if (m.controlTruncated()) {
            return RepairProtocol.describe(cmd) + " with more than " + SocketConstants.SCM_MAX_FD + " sockets";
        }
        if (!RepairProtocol.carriesSockets(cmd)) {
            return m.descriptors().isEmpty() ? null : RepairProtocol.describe(cmd) + " with sockets";
        }
        if (m.descriptors().isEmpty()) {
            return RepairProtocol.describe(cmd) + " without a socket";
        }
        for (int fd : m.descriptors()) {
            if (!isTcpSocket(fd)) {
                return RepairProtocol.describe(cmd) + " on descriptor " + fd + ", which is not a TCP socket";
            }
        }
        return null;
    }

    private boolean isTcpSocket(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment protocol = arena.allocate(JAVA_INT);
            kernel.getsockopt(fd, SocketConstants.SOL_SOCKET, SocketConstants.SO_PROTOCOL, protocol);
            return protocol.get(JAVA_INT, 0) == SocketConstants.IPPROTO_TCP;
        } catch (KernelException notASocket) {
            return false;
        }
    }

    /**
     * Locks the connections of the sockets handed over, as a new lock ({@code id} 0) or added to one of the client's;
     * the lock's id, or null (logged) when refused or failed. The addresses come from the sockets, never from the
     * client: it can lock only connections it holds.
     */
    private Integer lock(PeerInfo client, Map<Integer, NetworkLock> locks, int id, List<Integer> sockets) {
        NetworkLock existing = locks.get(id);
        if (id != 0 && existing == null) {
            log.accept(new Event("refused", client, "lock: extend lock " + id + ", which this client does not hold"));
            return null;
        }
        if (id == 0 && locks.size() >= RepairProtocol.MAX_LOCKS_PER_CLIENT) {
            log.accept(new Event("refused", client, "lock: this client holds " + locks.size() + " locks already"
                    + " (at most " + RepairProtocol.MAX_LOCKS_PER_CLIENT + ")"));
            return null;
        }
        List<NetworkLock.Tuple> tuples = new ArrayList<>();
        for (int fd : sockets) {
            try {
                tuples.add(new NetworkLock.Tuple(kernel.getsockname(fd), kernel.getpeername(fd)));
            } catch (KernelException | IllegalArgumentException e) {
                log.accept(new Event("refused", client, "lock: " + describe(fd) + " is not a connected TCP socket ("
                        + (e instanceof KernelException k ? k.errnoName() : e.getMessage()) + ")"));
                return null;
            }
        }
        try {
            int lockId = id;
            if (existing == null) {
                lockId = 1;
                while (locks.containsKey(lockId)) {
                    lockId++;
                }
                locks.put(lockId, NetworkLock.lock(tuples));
            } else {
                existing.add(tuples);
            }
            NetworkLock lock = locks.get(lockId);
            log.accept(new Event("locked", client, "lock " + lockId + " (" + lock.table() + ", " + lock.size()
                    + " connections): " + tuples.stream().map(t -> t.local() + " -> " + t.remote()).toList()));
            return lockId;
        } catch (IOException | RuntimeException e) {
            log.accept(new Event("failed", client, "lock: " + e.getMessage()));
            return null;
        }
    }

    /** Removes one of the client's locks; its id, or null (logged) when it holds no such lock or nft failed. */
    private Integer unlock(PeerInfo client, Map<Integer, NetworkLock> locks, int id) {
        NetworkLock lock = locks.get(id);
        if (lock == null) {
            log.accept(new Event("refused", client, "unlock: lock " + id + ", which this client does not hold"));
            return null;
        }
        if (!unlock(client, id, lock, "the client asked")) {
            return null; // kept: the connection closes, and the fail-safe tries again
        }
        locks.remove(id);
        return id;
    }

    /** The extension's int after the command byte, or null when the client closed first. */
    private Integer readValue(int connection, Arena arena) throws KernelException {
        MemorySegment value = arena.allocate(RepairProtocol.VALUE_BYTES);
        for (long got = 0; got < value.byteSize(); ) {
            long n = kernel.recv(connection, value.asSlice(got), 0);
            if (n == 0) {
                return null;
            }
            got += n;
        }
        return value.get(JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.nativeOrder()), 0);
    }

    private void apply(Arena arena, int fd, byte cmd, Integer value) throws KernelException {
        if (value == null) {
            kernel.setsockopt(fd, SocketConstants.SOL_TCP, SocketConstants.TCP_REPAIR, arena.allocateFrom(JAVA_INT, cmd));
        } else {
            kernel.setsockopt(fd, SocketConstants.SOL_SOCKET, RepairProtocol.bufferOption(cmd),
                    arena.allocateFrom(JAVA_INT, value));
        }
    }

    /** A socket for the log: its addresses, or "unconnected". */
    private String describe(int fd) {
        try {
            return kernel.getsockname(fd) + " -> " + kernel.getpeername(fd);
        } catch (KernelException | RuntimeException e) {
            try {
                return "unconnected " + kernel.getsockname(fd);
            } catch (KernelException | RuntimeException again) {
                return "descriptor " + fd;
            }
        }
    }

    private void closeQuietly(int fd) {
        try {
            kernel.close(fd);
        } catch (KernelException ignored) {
            // already closed
        }
    }
}
