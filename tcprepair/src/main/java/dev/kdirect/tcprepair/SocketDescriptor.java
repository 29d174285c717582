package dev.kdirect.tcprepair;

import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.SocketConstants;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.StandardSocketOptions;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * The file descriptor behind a JDK {@link SocketChannel}. When java.base exports {@code sun.nio.ch} to this module
 * ({@code --add-exports java.base/sun.nio.ch=dev.kdirect.tcprepair}, or {@code =ALL-UNNAMED} on the class path;
 * the {@code ./kdirect} launcher passes it) the JDK's own channel interface {@code SelChImpl.getFDVal()} answers
 * in nanoseconds. Otherwise it is found without JDK internals, exactly or not at all, never guessed: for a connected
 * channel, the socket descriptors of this process (/proc/self/fd) with its addresses (getsockname, getpeername),
 * which must all be one socket (one inode in their "socket:[N]" links; the channel, open and connected all along, is
 * among them), else the lookup is refused naming the export; for a new channel, a random mark (its SO_SNDBUF and
 * SO_RCVBUF sizes, which the restore overwrites) looked for with getsockopt on the descriptors that appeared, then
 * on all. Either costs a listing of /proc/self/fd and a few syscalls per socket of this process.
 */
final class SocketDescriptor {
    /** The option that opens the JDK route, for messages. */
    static final String EXPORT = "--add-exports java.base/sun.nio.ch=dev.kdirect.tcprepair (or =ALL-UNNAMED on the"
            + " class path; ./kdirect passes it)";
    private static final java.util.random.RandomGenerator MARKS = new java.security.SecureRandom();
    private static final int MARK_ATTEMPTS = 3;

    /** {@code SelChImpl.getFDVal()} as {@code (SocketChannel) int}, or null when sun.nio.ch is not exported to us. */
    private static final MethodHandle FD_VAL = exportedFdVal();

    private SocketDescriptor() {
    }

    /** Whether descriptors come from the JDK's channel ({@code sun.nio.ch} exported) rather than from /proc. */
    static boolean jdkFastPath() {
        return FD_VAL != null;
    }

    private static MethodHandle exportedFdVal() {
        Module base = Object.class.getModule();
        if (!base.isExported("sun.nio.ch", SocketDescriptor.class.getModule())) {
            return null;
        }
        try {
            Class<?> selectable = Class.forName("sun.nio.ch.SelChImpl");
            return MethodHandles.lookup().findVirtual(selectable, "getFDVal", MethodType.methodType(int.class))
                    .asType(MethodType.methodType(int.class, SocketChannel.class));
        } catch (ReflectiveOperationException | RuntimeException jdkChanged) {
            return null; // a JDK without SelChImpl.getFDVal: the /proc route still works
        }
    }

    /** The descriptor through the JDK's channel, or -1 when that route is closed or the channel is not the JDK's. */
    static int fromJdk(SocketChannel channel) {
        if (FD_VAL == null) {
            return -1;
        }
        try {
            return (int) FD_VAL.invokeExact(channel);
        } catch (ClassCastException notTheJdksChannel) {
            return -1;
        } catch (Throwable unexpected) {
            throw new IllegalStateException("SelChImpl.getFDVal failed", unexpected);
        }
    }

    /**
     * @throws IOException when the channel is not connected, or its socket is not found (e.g. /proc not mounted) or
     *     not told apart from another of this process with the same addresses
     */
    static int of(Kernel kernel, SocketChannel channel) throws IOException {
        InetSocketAddress[] addresses = addresses(channel);
        int fd = fromJdk(channel);
        return fd >= 0 ? fd : fromProc(kernel, addresses[0], addresses[1]);
    }

    /** {@link #of} without the JDK's help. */
    static int ofThroughProc(Kernel kernel, SocketChannel channel) throws IOException {
        InetSocketAddress[] addresses = addresses(channel);
        return fromProc(kernel, addresses[0], addresses[1]);
    }

    private static InetSocketAddress[] addresses(SocketChannel channel) throws IOException {
        InetSocketAddress local = (InetSocketAddress) channel.getLocalAddress();
        InetSocketAddress remote = (InetSocketAddress) channel.getRemoteAddress();
        if (local == null || remote == null) {
            throw new IOException("the channel is not connected: only an ESTABLISHED connection can be checkpointed");
        }
        return new InetSocketAddress[] {local, remote};
    }

    /**
     * The /proc route: this process's socket descriptors (/proc/self/fd) whose getsockname and getpeername are these
     * addresses. They must all be one socket (one inode: descriptors duplicated from it are the same socket); the
     * channel, open and connected all along, is among them. (/proc/net/tcp is not read: the kernel walks its whole
     * connection hash table for it, milliseconds per read on a large machine.)
     */
    static int fromProc(Kernel kernel, InetSocketAddress local, InetSocketAddress remote) throws IOException {
        java.util.Map<String, Integer> matching = new java.util.TreeMap<>();
        socketLinks().forEach((fd, link) -> {
            try {
                if (local.equals(kernel.getsockname(fd)) && remote.equals(kernel.getpeername(fd))) {
                    matching.putIfAbsent(link, fd);
                }
            } catch (KernelException | IllegalArgumentException closedNotConnectedOrNotInet) {
                // closed since listed, not connected, or a Unix domain socket: not the channel's
            }
        });
        if (matching.size() > 1) {
            throw new IOException(matching.size() + " sockets of this process hold " + local + " -> " + remote + " ("
                    + matching.keySet() + "): /proc cannot tell which is the channel's; give the JDK's descriptor with "
                    + EXPORT);
        }
        if (matching.isEmpty()) {
            throw new IOException("no socket " + local + " -> " + remote + " is open in this process");
        }
        return matching.values().iterator().next();
    }

    /**
     * Opens a new SocketChannel and returns it with its descriptor: the JDK's when sun.nio.ch is exported, else
     * through /proc ({@link #openChannelThroughProc}).
     */
    static Opened openChannel(Kernel kernel) throws IOException {
        if (FD_VAL != null) {
            SocketChannel channel = SocketChannel.open();
            int fd = fromJdk(channel);
            if (fd >= 0) {
                return new Opened(channel, fd);
            }
            channel.close();
        }
        return openChannelThroughProc(kernel);
    }

    /**
     * {@link #openChannel} without the JDK's help: the channel gets random SO_SNDBUF and SO_RCVBUF sizes through its
     * own API, and its descriptor is the one socket with both, read with getsockopt on the socket descriptors that
     * appeared across the open (or, when its number was one that another thread closed meanwhile, on all). Another
     * thread's sockets cannot carry the mark; two new channels' equal marks (odds of one in billions) are
     * detected and marked again.
     */
    static Opened openChannelThroughProc(Kernel kernel) throws IOException {
        java.util.Set<Integer> before = socketDescriptors();
        SocketChannel channel = SocketChannel.open();
        try {
            for (int attempt = 0; attempt < MARK_ATTEMPTS; attempt++) {
                channel.setOption(StandardSocketOptions.SO_SNDBUF, 4096 + MARKS.nextInt(61440));
                channel.setOption(StandardSocketOptions.SO_RCVBUF, 4096 + MARKS.nextInt(61440));
                int[] mark = {channel.getOption(StandardSocketOptions.SO_SNDBUF),
                    channel.getOption(StandardSocketOptions.SO_RCVBUF)};
                java.util.Set<Integer> added = socketDescriptors();
                added.removeAll(before);
                java.util.List<Integer> found = marked(kernel, added, mark);
                if (found.isEmpty()) {
                    found = marked(kernel, socketDescriptors(), mark);
                }
                if (found.size() == 1) {
                    return new Opened(channel, found.getFirst());
                }
            }
            throw new IOException("could not find the new channel's descriptor in /proc/self/fd; give the JDK's with "
                    + EXPORT);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
    }

    /** The descriptors among {@code fds} whose SO_SNDBUF and SO_RCVBUF are the mark's. */
    private static java.util.List<Integer> marked(Kernel kernel, java.util.Set<Integer> fds, int[] mark) {
        java.util.List<Integer> found = new java.util.ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment value = arena.allocate(ValueLayout.JAVA_INT);
            for (int fd : fds) {
                try {
                    kernel.getsockopt(fd, SocketConstants.SOL_SOCKET, SocketConstants.SO_SNDBUF, value);
                    if (!isMark(value.get(ValueLayout.JAVA_INT, 0), mark[0])) {
                        continue;
                    }
                    kernel.getsockopt(fd, SocketConstants.SOL_SOCKET, SocketConstants.SO_RCVBUF, value);
                    if (isMark(value.get(ValueLayout.JAVA_INT, 0), mark[1])) {
                        found.add(fd);
                    }
                } catch (KernelException closedMeanwhile) {
                    // another thread's descriptor, closed since it was listed
                }
            }
        }
        return found;
    }

    /**
     * The kernel doubles a buffer size it is given (sk_setsockopt) and getsockopt reports the double; the JDK on
     * Linux reports the size as given: either is the mark.
     */
    private static boolean isMark(int kernelValue, int jdkValue) {
        return kernelValue == jdkValue || kernelValue == 2L * jdkValue;
    }

    /** A new channel and its descriptor. */
    record Opened(SocketChannel channel, int fd) {
    }

    private static java.util.Set<Integer> socketDescriptors() throws IOException {
        return new java.util.HashSet<>(socketLinks().keySet());
    }

    /** This process's socket descriptors and their /proc/self/fd links ("socket:[inode]"). */
    private static java.util.Map<Integer, String> socketLinks() throws IOException {
        java.util.Map<Integer, String> sockets = new java.util.HashMap<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    String link = Files.readSymbolicLink(fd).toString();
                    if (link.startsWith("socket:[")) {
                        sockets.put(Integer.parseInt(fd.getFileName().toString()), link);
                    }
                } catch (IOException closedMeanwhile) {
                    // a descriptor closed while listing: not one of ours
                }
            }
        }
        return sockets;
    }
}
