package dev.kdirect.tcprepair;

import static dev.kdirect.SocketConstants.MSG_DONTWAIT;
import static dev.kdirect.SocketConstants.MSG_PEEK;
import static dev.kdirect.SocketConstants.SOL_SOCKET;
import static dev.kdirect.SocketConstants.SOL_TCP;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.kdirect.Binding;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.Kernels;
import dev.kdirect.SocketConstants;
import dev.kdirect.TcpStructs;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.util.List;

/**
 * Checkpoints, detaches and restores live TCP connections with TCP_REPAIR (net/ipv4/tcp.c), on a socket descriptor
 * through the {@link Kernel} or on a JDK {@link SocketChannel} (its descriptor from the JDK when java.base exports
 * sun.nio.ch to this module, else found through /proc: see docs/tcprepair.md). The dump
 * follows CRIU libsoccr's order: repair mode on, TCP_INFO, the queue sizes (SIOCOUTQ, SIOCOUTQNSD, SIOCINQ), the MSS
 * clamp, the timestamp, the repair window, each queue's sequence number and bytes (peeked, not consumed), the
 * socket options; the connection keeps working: nothing is read from it and nothing is sent while it is in repair
 * mode. The restore rebuilds the connection in the order the kernel requires (see {@link #restore}).
 *
 * <p>Only TCP_REPAIR on and off need CAP_NET_ADMIN (EPERM without it); a listening socket cannot enter repair mode
 * (EPERM). The kernel's rules for each repair option, and their errno, are in docs/tcprepair.md and proven by
 * TcpRepairContractTest on FFM, JNA and the simulated kernel. The network lock and migration between processes
 * are not part of this class.
 */
public final class TcpRepair {
    /** Room beyond the queued bytes while restoring: sk_buff overhead of the kernel's accounting. */
    private static final int BUFFER_ROOM = 1 << 16;

    private final Kernel kernel;
    private final Privileged privileged;
    /** The repair helper that does what needs CAP_NET_ADMIN ({@link #through}), or null: this process does it. */
    private final RepairHelperClient helper;
    /** False: channels' descriptors come from /proc even where the JDK could give them (for tests). */
    private final boolean jdkDescriptors;

    /** Where a dump's queued bytes go; null: copied from the dump's scratch memory to the heap ({@link #queuesIn}). */
    private final SegmentAllocator queueMemory;

    private TcpRepair(Kernel kernel, Privileged privileged, RepairHelperClient helper) {
        this(kernel, privileged, helper, true, null);
    }

    private TcpRepair(Kernel kernel, Privileged privileged, RepairHelperClient helper, boolean jdkDescriptors,
            SegmentAllocator queueMemory) {
        this.kernel = kernel;
        this.privileged = privileged;
        this.helper = helper;
        this.jdkDescriptors = jdkDescriptors;
        this.queueMemory = queueMemory;
    }

    /** This TCP repair with channels' descriptors always found through /proc (SocketDescriptor), for tests. */
    TcpRepair withoutJdkDescriptors() {
        return new TcpRepair(kernel, privileged, helper, false, queueMemory);
    }

    /**
     * This TCP repair with the queued bytes of every checkpoint, detach and freeze peeked (recv with MSG_PEEK)
     * straight into one block from {@code queues}, which the {@link ConnectionState}'s queue views then are: no copy
     * on the heap. The state is valid as long as that memory is: an arena the caller closes after the migration or
     * the image is written, or a {@link SegmentAllocator#prefixAllocator} that reuses one buffer for every dump
     * (each dump then overwrites the previous state's queues). Without it the queues are peeked into the dump's
     * own scratch memory and copied once to the heap: a state that lives as long as it is referenced, at the cost of
     * one copy and a heap array the size of the queues per dump. (Native memory freed by the garbage collector,
     * {@link Arena#ofAuto}, would spare the copy but make a loop of large checkpoints wait on collections for its
     * native memory: 15 times slower than C at 64 KiB queued, docs/benchmarks.md.)
     */
    public TcpRepair queuesIn(SegmentAllocator queues) {
        return new TcpRepair(kernel, privileged, helper, jdkDescriptors, java.util.Objects.requireNonNull(queues));
    }

    /**
     * TCP repair on the kernel for {@link Feature#TCP_REPAIR} ({@link Kernels#forFeature}): the real kernel exactly
     * when {@code Feature.TCP_REPAIR.isAvailable()} and the binding is not forced to simulated ({@link #isReal}),
     * else the simulated kernel, where only the descriptor API works.
     */
    public static TcpRepair system() {
        return on(Kernels.forFeature(Feature.TCP_REPAIR));
    }

    /** TCP repair on a given kernel, with this process's own CAP_NET_ADMIN. */
    public static TcpRepair on(Kernel kernel) {
        return new TcpRepair(kernel, (arena, fd, level, option, value) ->
                kernel.setsockopt(fd, level, option, arena.allocateFrom(JAVA_INT, value)), null);
    }

    /**
     * TCP repair in a process without CAP_NET_ADMIN: the real kernel (whatever the probe, which fails here for want
     * of the capability), with TCP_REPAIR on and off and the forced buffer sizes (SO_SNDBUFFORCE, SO_RCVBUFFORCE)
     * asked of a privileged repair helper ({@code kdirect repair-helper}, or passt-repair for the toggles); every
     * other step needs no capability. The helper's refusal or failure is a {@link RepairHelperException}, and the
     * operation rolls back as it does for EPERM. A migration with this repair ({@link MigrationSource#repair}) takes
     * its network lock through the helper too ({@link #lock}).
     */
    public static TcpRepair through(RepairHelperClient helper) {
        return new TcpRepair(Kernels.real(), (arena, fd, level, option, value) -> helper.set(fd, level, option,
                value), helper);
    }

    /**
     * Locks the connections of these channels ({@link NetworkLock}): with this process's own CAP_NET_ADMIN, or, for
     * a repair {@link #through} a helper, held by the helper on the sockets handed to it.
     *
     * @throws NetworkLockException when the lock cannot be taken: nothing is left locked
     */
    public ConnectionLock lock(List<SocketChannel> channels) throws IOException {
        if (helper == null) {
            return NetworkLock.lockChannels(channels);
        }
        requireRealKernelForChannels();
        int[] sockets = new int[channels.size()];
        for (int i = 0; i < sockets.length; i++) {
            sockets[i] = descriptor(channels.get(i));
        }
        try {
            return helper.lock(sockets);
        } catch (RepairHelperException e) {
            throw new NetworkLockException(e.getMessage());
        }
    }

    /**
     * {@link #lock(List)} of these channels and of the connected TCP sockets {@code descriptors} (their addresses
     * from getsockname and getpeername, or handed to the repair helper as they are).
     */
    ConnectionLock lock(List<SocketChannel> channels, int[] descriptors) throws IOException {
        if (descriptors.length == 0) {
            return lock(channels);
        }
        if (helper == null) {
            List<NetworkLock.Tuple> tuples = new java.util.ArrayList<>();
            for (SocketChannel c : channels) {
                tuples.add(NetworkLock.Tuple.of(c));
            }
            for (int fd : descriptors) {
                tuples.add(new NetworkLock.Tuple(kernel.getsockname(fd), kernel.getpeername(fd)));
            }
            return NetworkLock.lock(tuples);
        }
        int[] sockets = new int[channels.size() + descriptors.length];
        for (int i = 0; i < channels.size(); i++) {
            sockets[i] = descriptor(channels.get(i));
        }
        System.arraycopy(descriptors, 0, sockets, channels.size(), descriptors.length);
        try {
            return helper.lock(sockets);
        } catch (RepairHelperException e) {
            throw new NetworkLockException(e.getMessage());
        }
    }

    /** The channel's socket descriptor: from the JDK when java.base exports it, else found through /proc. */
    private int descriptor(SocketChannel channel) throws IOException {
        return jdkDescriptors ? SocketDescriptor.of(kernel, channel) : SocketDescriptor.ofThroughProc(kernel, channel);
    }

    /** The kernel this TCP repair runs on. */
    public Kernel kernel() {
        return kernel;
    }

    /**
     * Which kernel this repair handle is on: a real binding, or {@link Binding#SIMULATED} (a model: no enforcement
     * by the hardware or the kernel).
     */
    public Binding binding() {
        return kernel.binding();
    }

    /** True on a real kernel: JDK channels work; false on the simulated kernel, where only descriptors do. */
    public boolean isReal() {
        return kernel.binding().isReal();
    }

    /** The settings that need CAP_NET_ADMIN: made with this process's capability, or by a repair helper. */
    @FunctionalInterface
    interface Privileged {
        void set(Arena arena, int fd, int level, int option, int value) throws IOException;
    }

    /**
     * A JDK channel is a real socket: the simulated kernel cannot see its descriptor (it would answer EBADF, or act
     * on one of its own sockets that happens to have the number). Refused with what to do instead.
     */
    private void requireRealKernelForChannels() {
        if (isReal()) {
            return;
        }
        String why = !Binding.configured().isReal()
                ? "the binding is forced to simulated (-Dkdirect.binding=simulated)"
                : Feature.TCP_REPAIR.isAvailable() ? "it was given the simulated kernel"
                : "tcp-repair is not real here: " + Feature.TCP_REPAIR.status().evidence() + "; to make it real: "
                        + Feature.TCP_REPAIR.status().action();
        throw new UnsupportedOperationException("TcpRepair runs on the simulated kernel (" + why + "), which cannot"
                + " see a JDK SocketChannel's socket: use the descriptor API (checkpoint(int), freeze(int),"
                + " detach(int), restoreDescriptor(ConnectionState)) with sockets made by TcpRepair.kernel()");
    }

    // ---- JDK channels

    /**
     * The state of a connected channel, which stays connected and usable. The caller must keep the peer and the
     * application quiet meanwhile (or lock the 4-tuple): a segment arriving between the reads makes the state
     * inconsistent.
     *
     * @throws IOException when the channel is not connected
     * @throws KernelException EPERM without CAP_NET_ADMIN (run with sudo); the connection is left as it was
     * @throws IllegalStateException when the connection is not ESTABLISHED (e.g. half closed)
     */
    public ConnectionState checkpoint(SocketChannel channel) throws IOException {
        return thawed(freeze(channel));
    }

    /**
     * Checkpoints the channel and closes it in repair mode, which sends nothing: no FIN, no RST. The peer sees a
     * quiet connection until {@link #restore} brings it back (here or in another process). Lock the 4-tuple
     * around it when the peer may send meanwhile. If the dump fails, the channel leaves repair mode and works on.
     */
    public ConnectionState detach(SocketChannel channel) throws IOException {
        return released(freeze(channel));
    }

    /**
     * Puts the channel in repair mode and dumps its state, leaving it frozen: it neither sends nor reacts to
     * segments until {@link FrozenConnection#thaw} (the connection goes on in this channel: the rollback of a
     * failed migration) or {@link FrozenConnection#release} (closed silently: the connection lives on where the
     * state was restored). If the dump fails the channel leaves repair mode and the error is thrown.
     *
     * @throws IOException when the channel is not connected
     * @throws KernelException EPERM without CAP_NET_ADMIN (run with sudo); the connection is left as it was
     * @throws IllegalStateException when the connection is not ESTABLISHED, or changed during the dump
     */
    public FrozenConnection freeze(SocketChannel channel) throws IOException {
        requireRealKernelForChannels();
        // the JDK knows the addresses (IPv4-mapped ones as IPv4, as SocketAddresses decodes them): no syscalls
        int fd = descriptor(channel);
        return freeze(fd, (InetSocketAddress) channel.getLocalAddress(),
                (InetSocketAddress) channel.getRemoteAddress(), channel, channel::close);
    }

    /**
     * A new connected channel carrying the connection, rebuilt in the kernel's required order: SO_REUSEADDR, the
     * buffer sizes (forced large enough for the queues), repair mode, bind, both queues' sequence numbers, connect
     * (no SYN: straight to ESTABLISHED), the handshake's options, the timestamp, the receive queue and the
     * sent-but-unacknowledged bytes refilled in repair mode, the window, repair mode off, then the unsent bytes sent
     * normally, and the socket options, the saved buffer sizes among them (set with SO_SNDBUFFORCE and
     * SO_RCVBUFFORCE, so the kernel no longer autotunes them).
     *
     * @throws KernelException EADDRNOTAVAIL (from connect) while another socket still holds the 4-tuple, EPERM
     *     without CAP_NET_ADMIN; the half-built channel is closed
     */
    public SocketChannel restore(ConnectionState state) throws IOException {
        FrozenConnection restored = restoreFrozen(state);
        try {
            restored.thaw();
            return restored.channel();
        } catch (IOException | RuntimeException e) {
            restored.channel().close();
            throw e;
        }
    }

    /**
     * {@link #restore} up to and including the repair window, the channel left in repair mode: nothing has been
     * sent to the peer yet. {@link FrozenConnection#thaw} finishes the restore (repair mode off, the unsent bytes,
     * the buffer sizes and options); {@link FrozenConnection#release} closes the channel silently. A migration
     * target holds restored connections this way until the source commits.
     *
     * @throws KernelException as {@link #restore}; the half-built channel is closed
     */
    public FrozenConnection restoreFrozen(ConnectionState state) throws IOException {
        requireRealKernelForChannels();
        SocketDescriptor.Opened opened = jdkDescriptors ? SocketDescriptor.openChannel(kernel)
                : SocketDescriptor.openChannelThroughProc(kernel);
        SocketChannel channel = opened.channel();
        RestoreTarget target = new RestoreTarget.Channel(channel, opened.fd());
        try {
            rebuild(state, target);
            return new FrozenConnection(channel, opened.fd(), state, probe -> finish(state, target, probe),
                    channel::close);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    // ---- descriptors

    /**
     * The state of the connected TCP socket {@code fd}, which stays connected and usable; as
     * {@link #checkpoint(SocketChannel)}.
     *
     * @throws KernelException ENOTCONN when the socket is not connected, EBADF, ENOTSOCK, EPERM without
     *     CAP_NET_ADMIN or on a listening socket
     * @throws IllegalStateException when the connection is not ESTABLISHED, or changed during the dump
     */
    public ConnectionState checkpoint(int fd) throws IOException {
        return thawed(freeze(fd));
    }

    /** Checkpoints {@code fd} and closes it in repair mode (nothing sent); as {@link #detach(SocketChannel)}. */
    public ConnectionState detach(int fd) throws IOException {
        return released(freeze(fd));
    }

    /**
     * Puts the socket {@code fd} in repair mode and dumps its state, leaving it frozen; as
     * {@link #freeze(SocketChannel)}, but {@link FrozenConnection#release} closes the descriptor and
     * {@link FrozenConnection#channel} is null. The addresses come from getsockname and getpeername.
     */
    public FrozenConnection freeze(int fd) throws IOException {
        return freeze(fd, kernel.getsockname(fd), kernel.getpeername(fd), null, () -> kernel.close(fd));
    }

    /**
     * {@link #freeze(int)} of a socket whose descriptor another owner holds (a network framework's channel): {@link
     * FrozenConnection#release} closes it through {@code owner} (which must close the descriptor, e.g. by closing
     * the framework's channel, so that the owner never closes the number again once it may name another file),
     * and {@link FrozenConnection#thaw} leaves it to the owner, open.
     */
    public FrozenConnection freeze(int fd, java.io.Closeable owner) throws IOException {
        return freeze(fd, kernel.getsockname(fd), kernel.getpeername(fd), null, owner::close);
    }

    /**
     * {@link #restoreFrozen}, by descriptor: a new TCP socket (socket(2), bind(2), connect(2) on the kernel) left in
     * repair mode, nothing sent, non-blocking (O_NONBLOCK) and close-on-exec; {@link FrozenConnection#descriptor} names it, {@link FrozenConnection#channel} is
     * null, {@link FrozenConnection#thaw} finishes the restore (the caller owns the descriptor from then on) and
     * {@link FrozenConnection#release} closes it silently. For frameworks that take a socket by descriptor (Netty's
     * native transports).
     *
     * @throws KernelException as {@link #restoreDescriptor}; the half-built socket is closed
     */
    public FrozenConnection restoreFrozenDescriptor(ConnectionState state) throws IOException {
        // non-blocking, as event loops take sockets; the unsent tail still goes out whole at thaw: the send buffer
        // was forced to hold the whole send queue before the refill
        int fd = kernel.socket(state.ipVersion() == 4 ? SocketConstants.AF_INET : SocketConstants.AF_INET6,
                SocketConstants.SOCK_STREAM | SocketConstants.SOCK_NONBLOCK | SocketConstants.SOCK_CLOEXEC, 0);
        try {
            RestoreTarget target = new RestoreTarget.Descriptor(kernel, fd);
            rebuild(state, target);
            return new FrozenConnection(null, fd, state, probe -> finish(state, target, probe), () -> kernel.close(fd));
        } catch (IOException | RuntimeException e) {
            kernel.close(fd);
            throw e;
        }
    }

    /**
     * A new connected TCP socket carrying the connection, built with socket(2), bind(2) and connect(2) on the
     * kernel in the order of {@link #restore}; the caller owns (and closes) the descriptor.
     *
     * @throws KernelException EADDRNOTAVAIL while another socket holds the 4-tuple, EPERM without CAP_NET_ADMIN;
     *     the half-built socket is closed
     */
    public int restoreDescriptor(ConnectionState state) throws IOException {
        int fd = kernel.socket(state.ipVersion() == 4 ? SocketConstants.AF_INET : SocketConstants.AF_INET6,
                SocketConstants.SOCK_STREAM, 0);
        try {
            RestoreTarget target = new RestoreTarget.Descriptor(kernel, fd);
            rebuild(state, target);
            finish(state, target, true);
            return fd;
        } catch (IOException | RuntimeException e) {
            kernel.close(fd);
            throw e;
        }
    }

    // ---- the one dump and the one restore

    private static ConnectionState thawed(FrozenConnection frozen) throws IOException {
        frozen.thaw();
        return frozen.state();
    }

    private static ConnectionState released(FrozenConnection frozen) throws IOException {
        frozen.release();
        return frozen.state();
    }

    /**
     * Repair mode on, then the dump. SO_REUSEADDR is read first: repair mode overrides it (the kernel forces reuse,
     * and leaving repair mode clears it), so it is captured as the application set it and set again on thaw.
     */
    private FrozenConnection freeze(int fd, InetSocketAddress local, InetSocketAddress remote, SocketChannel channel,
            FrozenConnection.Closer closer) throws IOException {
        try (Arena arena = new ScratchArena()) {
            boolean reuseAddress = getInt(arena, fd, SOL_SOCKET, SocketConstants.SO_REUSEADDR) != 0;
            privileged.set(arena, fd, SOL_TCP, SocketConstants.TCP_REPAIR, SocketConstants.TCP_REPAIR_ON);
            try {
                ConnectionState state = dump(arena, fd, local, remote, reuseAddress);
                return new FrozenConnection(channel, fd, state, probe -> leaveRepairMode(fd, reuseAddress, probe),
                        closer);
            } catch (IOException | RuntimeException e) {
                leaveRepairMode(fd, reuseAddress, true);
                throw e;
            }
        }
    }

    /** Repair mode off (with no queue selected): the connection resumes where it stood, SO_REUSEADDR as it was. */
    private void leaveRepairMode(int fd, boolean reuseAddress, boolean windowProbe) throws IOException {
        try (Arena arena = new ScratchArena()) {
            setInt(arena, fd, SOL_TCP, SocketConstants.TCP_REPAIR_QUEUE, SocketConstants.TCP_NO_QUEUE);
            privileged.set(arena, fd, SOL_TCP, SocketConstants.TCP_REPAIR, repairOff(windowProbe));
            setInt(arena, fd, SOL_SOCKET, SocketConstants.SO_REUSEADDR, reuseAddress ? 1 : 0);
        }
    }

    /**
     * The restore in the kernel's order (see {@link #restore}) up to the repair window, still in repair mode; the
     * target binds, connects and sends. {@link #finish} completes it.
     */
    private void rebuild(ConnectionState state, RestoreTarget target) throws IOException {
        int fd = target.fd();
        try (Arena arena = new ScratchArena()) {
            MemorySegment received = state.receiveQueueView();
            setInt(arena, fd, SOL_SOCKET, SocketConstants.SO_REUSEADDR, 1);
            privileged.set(arena, fd, SOL_SOCKET, SocketConstants.SO_SNDBUFFORCE, refillSendBuffer(state) / 2);
            privileged.set(arena, fd, SOL_SOCKET, SocketConstants.SO_RCVBUFFORCE, refillReceiveBuffer(state) / 2);
            privileged.set(arena, fd, SOL_TCP, SocketConstants.TCP_REPAIR, SocketConstants.TCP_REPAIR_ON);
            target.bind(state.local());
            setQueueSequence(arena, fd, SocketConstants.TCP_RECV_QUEUE,
                    state.receiveSequence() - state.receiveQueueLength());
            setQueueSequence(arena, fd, SocketConstants.TCP_SEND_QUEUE, state.sendSequence() - state.sendQueueLength());
            setInt(arena, fd, SOL_TCP, SocketConstants.TCP_REPAIR_QUEUE, SocketConstants.TCP_NO_QUEUE);
            target.connect(state.remote());
            kernel.setsockopt(fd, SOL_TCP, SocketConstants.TCP_REPAIR_OPTIONS, repairOptions(arena, state.options()));
            if (state.options().timestamps()) {
                setInt(arena, fd, SOL_TCP, SocketConstants.TCP_TIMESTAMP, state.options().timestamp());
            }
            refill(arena, fd, SocketConstants.TCP_RECV_QUEUE, received);
            refill(arena, fd, SocketConstants.TCP_SEND_QUEUE, state.sentUnacknowledgedView());
            setInt(arena, fd, SOL_TCP, SocketConstants.TCP_REPAIR_QUEUE, SocketConstants.TCP_NO_QUEUE);
            ConnectionState.RepairWindow w = state.window();
            kernel.setsockopt(fd, SOL_TCP, SocketConstants.TCP_REPAIR_WINDOW, TcpStructs.repairWindow(arena,
                    w.sendWl1(), w.sendWindow(), w.maxWindow(), w.receiveWindow(), w.receiveWup()));
        }
    }

    /** The end of a restore: repair mode off (a window probe tells the peer), the unsent tail, buffers, options. */
    private void finish(ConnectionState state, RestoreTarget target, boolean windowProbe) throws IOException {
        int fd = target.fd();
        try (Arena arena = new ScratchArena()) {
            ConnectionState.SocketOptions o = state.socketOptions();
            privileged.set(arena, fd, SOL_TCP, SocketConstants.TCP_REPAIR, repairOff(windowProbe));
            target.sendAll(nativeBytes(arena, state.unsentView()));
            // Only what differs from where the socket stands now (each call is a syscall, a migration makes
            // thousands): the saved buffer sizes unless the refill's were the same; SO_REUSEADDR, which leaving
            // repair mode cleared; TCP_NODELAY and SO_KEEPALIVE, off in a new socket.
            if (refillSendBuffer(state) != o.sendBuffer()) {
                privileged.set(arena, fd, SOL_SOCKET, SocketConstants.SO_SNDBUFFORCE, o.sendBuffer() / 2);
            }
            if (refillReceiveBuffer(state) != o.receiveBuffer()) {
                privileged.set(arena, fd, SOL_SOCKET, SocketConstants.SO_RCVBUFFORCE, o.receiveBuffer() / 2);
            }
            if (o.reuseAddress()) {
                setInt(arena, fd, SOL_SOCKET, SocketConstants.SO_REUSEADDR, 1);
            }
            if (o.noDelay()) {
                setInt(arena, fd, SOL_TCP, SocketConstants.TCP_NODELAY, 1);
            }
            if (o.keepAlive()) {
                setInt(arena, fd, SOL_SOCKET, SocketConstants.SO_KEEPALIVE, 1);
            }
        }
    }

    /**
     * TCP_REPAIR_OFF sends a window probe (tcp_repair's tcp_send_window_probe), which makes the peer answer at
     * once; TCP_REPAIR_OFF_NO_WP does not: for a socket whose 4-tuple is locked, where the probe would be dropped.
     */
    private static int repairOff(boolean windowProbe) {
        return windowProbe ? SocketConstants.TCP_REPAIR_OFF : SocketConstants.TCP_REPAIR_OFF_NO_WP;
    }

    /**
     * The send buffer during the restore, as getsockopt reports sizes (SO_SNDBUFFORCE sets half): one that surely
     * holds the send queue, past wmem_max (CAP_NET_ADMIN). Too small, the refill fails with ENOMEM and the unsent
     * tail's send blocks while the peer does not read.
     */
    private static int refillSendBuffer(ConnectionState state) {
        return Math.max(state.socketOptions().sendBuffer(), 2 * state.sendQueueLength() + BUFFER_ROOM);
    }

    /** The receive buffer during the restore: one that surely holds the receive queue (as the send buffer). */
    private static int refillReceiveBuffer(ConnectionState state) {
        return Math.max(state.socketOptions().receiveBuffer(), 2 * state.receiveQueueLength() + BUFFER_ROOM);
    }

    private void setQueueSequence(Arena arena, int fd, int queue, int sequence) throws KernelException {
        setInt(arena, fd, SOL_TCP, SocketConstants.TCP_REPAIR_QUEUE, queue);
        setInt(arena, fd, SOL_TCP, SocketConstants.TCP_QUEUE_SEQ, sequence);
    }

    /** send(2) in repair mode appends to the selected queue without transmitting; chunks halve on failure. */
    private void refill(Arena arena, int fd, int queue, MemorySegment bytes) throws KernelException {
        long length = bytes.byteSize();
        if (length == 0) {
            return;
        }
        setInt(arena, fd, SOL_TCP, SocketConstants.TCP_REPAIR_QUEUE, queue);
        MemorySegment data = nativeBytes(arena, bytes);
        long done = 0;
        long chunk = length;
        while (done < length) {
            try {
                done += kernel.send(fd, data.asSlice(done, Math.min(chunk, length - done)), 0);
            } catch (KernelException e) {
                if (chunk == 1) {
                    throw e;
                }
                chunk = Math.max(1, chunk / 2);
            }
        }
    }

    /**
     * The bytes where a system call can read them: a native view as it is (the queues a dump peeked, an image read
     * into native memory), a heap one (a state built from arrays) copied once.
     */
    private static MemorySegment nativeBytes(Arena arena, MemorySegment bytes) {
        return bytes.isNative() || bytes.byteSize() == 0 ? bytes : arena.allocate(bytes.byteSize()).copyFrom(bytes);
    }

    /** struct tcp_repair_opt[]: MSS, window scales (send | receive << 16), SACK permitted, timestamps. */
    private static MemorySegment repairOptions(Arena arena, ConnectionState.TcpOptions o) {
        int count = 2 + (o.sackPermitted() ? 1 : 0) + (o.timestamps() ? 1 : 0);
        MemorySegment options = arena.allocate(TcpStructs.REPAIR_OPT, count);
        int i = 0;
        i = option(options, i, SocketConstants.TCPOPT_MAXSEG, o.mssClamp());
        i = option(options, i, SocketConstants.TCPOPT_WINDOW, o.sendWindowScale() | o.receiveWindowScale() << 16);
        if (o.sackPermitted()) {
            i = option(options, i, SocketConstants.TCPOPT_SACK_PERM, 0);
        }
        if (o.timestamps()) {
            option(options, i, SocketConstants.TCPOPT_TIMESTAMP, 0);
        }
        return options;
    }

    private static int option(MemorySegment options, int index, int code, int value) {
        MemorySegment option = options.asSlice(index * TcpStructs.REPAIR_OPT.byteSize(), TcpStructs.REPAIR_OPT);
        TcpStructs.OPT_CODE.set(option, code);
        TcpStructs.OPT_VAL.set(option, value);
        return index + 1;
    }

    private ConnectionState dump(Arena arena, int fd, InetSocketAddress local, InetSocketAddress remote,
            boolean reuseAddress) throws KernelException {
        MemorySegment info = arena.allocate(TcpStructs.INFO_SIZE);
        kernel.getsockopt(fd, SOL_TCP, SocketConstants.TCP_INFO, info);
        int state = (byte) TcpStructs.INFO_STATE.get(info);
        if (state != SocketConstants.TCP_ESTABLISHED) {
            throw new IllegalStateException("only an ESTABLISHED connection can be checkpointed; " + local + " -> "
                    + remote + " is in TCP state " + state);
        }
        int tcpiOptions = (byte) TcpStructs.INFO_OPTIONS.get(info);
        int scales = (byte) TcpStructs.INFO_WSCALES.get(info) & 0xff;
        int outq = kernel.ioctlInt(fd, SocketConstants.SIOCOUTQ);
        int unsentBytes = kernel.ioctlInt(fd, SocketConstants.SIOCOUTQNSD);
        int inq = kernel.ioctlInt(fd, SocketConstants.SIOCINQ);
        int mss = getInt(arena, fd, SOL_TCP, SocketConstants.TCP_MAXSEG);
        int timestamp = getInt(arena, fd, SOL_TCP, SocketConstants.TCP_TIMESTAMP);
        MemorySegment w = arena.allocate(TcpStructs.REPAIR_WINDOW);
        kernel.getsockopt(fd, SOL_TCP, SocketConstants.TCP_REPAIR_WINDOW, w);
        var window = new ConnectionState.RepairWindow((int) TcpStructs.WINDOW_SND_WL1.get(w),
                (int) TcpStructs.WINDOW_SND_WND.get(w), (int) TcpStructs.WINDOW_MAX_WINDOW.get(w),
                (int) TcpStructs.WINDOW_RCV_WND.get(w), (int) TcpStructs.WINDOW_RCV_WUP.get(w));
        // both queues in one block: the receive queue at 0, the send queue after it (each peek asks one byte more,
        // which lands where the next queue starts or in the block's last byte)
        MemorySegment queues = inq + outq == 0 ? MemorySegment.NULL
                : (queueMemory != null ? queueMemory : arena).allocate(inq + outq + 1L);
        int receiveSequence = peekQueue(arena, fd, SocketConstants.TCP_RECV_QUEUE, queues, 0, inq);
        int sendSequence = peekQueue(arena, fd, SocketConstants.TCP_SEND_QUEUE, queues, inq, outq);
        if (queueMemory == null && inq + outq > 0) {
            queues = MemorySegment.ofArray(queues.asSlice(0, inq + outq).toArray(JAVA_BYTE)); // the arena ends here
        }
        int sentBytes = outq - unsentBytes;
        var options = new ConnectionState.TcpOptions(mss, scales & 0xf, scales >> 4,
                (tcpiOptions & SocketConstants.TCPI_OPT_SACK) != 0,
                (tcpiOptions & SocketConstants.TCPI_OPT_TIMESTAMPS) != 0, timestamp);
        var socketOptions = new ConnectionState.SocketOptions(
                getInt(arena, fd, SOL_SOCKET, SocketConstants.SO_SNDBUF),
                getInt(arena, fd, SOL_SOCKET, SocketConstants.SO_RCVBUF),
                reuseAddress,
                getInt(arena, fd, SOL_TCP, SocketConstants.TCP_NODELAY) != 0,
                getInt(arena, fd, SOL_SOCKET, SocketConstants.SO_KEEPALIVE) != 0);
        return new ConnectionState(local, remote, sendSequence, receiveSequence, queues.asSlice(0, inq),
                queues.asSlice(inq, sentBytes), queues.asSlice(inq + sentBytes, outq - sentBytes), options, window,
                socketOptions);
    }

    /**
     * TCP_REPAIR_QUEUE, then its TCP_QUEUE_SEQ (returned), then a peek of exactly its {@code length} bytes into
     * {@code block} at {@code offset} (one more asked, none given).
     */
    private int peekQueue(Arena arena, int fd, int which, MemorySegment block, long offset, int length)
            throws KernelException {
        setInt(arena, fd, SOL_TCP, SocketConstants.TCP_REPAIR_QUEUE, which);
        int sequence = getInt(arena, fd, SOL_TCP, SocketConstants.TCP_QUEUE_SEQ);
        if (length == 0) {
            return sequence;
        }
        long peeked = kernel.recv(fd, block.asSlice(offset, length + 1L), MSG_PEEK | MSG_DONTWAIT);
        if (peeked != length) {
            throw new IllegalStateException("the " + (which == SocketConstants.TCP_RECV_QUEUE ? "receive" : "send")
                    + " queue held " + peeked + " bytes where the kernel reported " + length + ": the connection"
                    + " changed during the checkpoint; lock it and try again");
        }
        return sequence;
    }

    private int getInt(Arena arena, int fd, int level, int option) throws KernelException {
        MemorySegment value = arena.allocate(JAVA_INT);
        kernel.getsockopt(fd, level, option, value);
        return value.get(JAVA_INT, 0);
    }

    private void setInt(Arena arena, int fd, int level, int option, int value) throws KernelException {
        kernel.setsockopt(fd, level, option, arena.allocateFrom(JAVA_INT, value));
    }
}
