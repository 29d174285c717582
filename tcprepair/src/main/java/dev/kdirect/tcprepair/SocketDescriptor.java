package dev.kdirect.tcprepair;

import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The file descriptor behind a JDK {@link SocketChannel}. When java.base exports {@code sun.nio.ch} to this module
 * ({@code --add-exports java.base/sun.nio.ch=dev.kdirect.tcprepair}, or {@code =ALL-UNNAMED} on the class path;
 * the {@code ./kdirect} launcher passes it) the JDK's own channel interface {@code SelChImpl.getFDVal()} answers
 * in nanoseconds. Otherwise it is found without JDK internals: the connection's socket inode from /proc/net/tcp or
 * tcp6 (matched by both addresses), then the descriptor of this process whose /proc/self/fd link names that inode
 * ("socket:[N]"), which costs a read of both tables per call.
 */
final class SocketDescriptor {
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
    private static int fromJdk(SocketChannel channel) {
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
     * @throws IOException when the channel is not connected, or its socket is not found (e.g. /proc not mounted)
     */
    static int of(SocketChannel channel) throws IOException {
        InetSocketAddress local = (InetSocketAddress) channel.getLocalAddress();
        InetSocketAddress remote = (InetSocketAddress) channel.getRemoteAddress();
        if (local == null || remote == null) {
            throw new IOException("the channel is not connected: only an ESTABLISHED connection can be checkpointed");
        }
        int fd = fromJdk(channel);
        if (fd >= 0) {
            return fd;
        }
        return fromProc(local, remote);
    }

    /** The /proc route: the socket's inode by its addresses, then the descriptor linking to it. */
    static int fromProc(InetSocketAddress local, InetSocketAddress remote) throws IOException {
        String inode = inode(Path.of("/proc/net/tcp6"), procAddress(mapped(local)), procAddress(mapped(remote)));
        if (inode == null && local.getAddress() instanceof Inet4Address) {
            inode = inode(Path.of("/proc/net/tcp"), procAddress(local), procAddress(remote));
        }
        if (inode == null) {
            throw new IOException("no socket " + local + " -> " + remote + " in /proc/net/tcp or tcp6");
        }
        String link = "socket:[" + inode + "]";
        for (var entry : socketLinks().entrySet()) {
            if (entry.getValue().equals(link)) {
                return entry.getKey();
            }
        }
        throw new IOException("the socket " + link + " of " + local + " -> " + remote + " is not open in this process");
    }

    /**
     * Opens a new SocketChannel and returns it with its descriptor, found as the one socket descriptor that
     * appeared in /proc/self/fd across the open (an unconnected socket is in no /proc/net table). A socket that
     * another thread opens at the same moment makes the answer ambiguous: that is reported, never guessed.
     */
    static Opened openChannel() throws IOException {
        if (FD_VAL != null) {
            SocketChannel channel = SocketChannel.open();
            int fd = fromJdk(channel);
            if (fd >= 0) {
                return new Opened(channel, fd);
            }
            channel.close();
        }
        return openChannelThroughProc();
    }

    /** {@link #openChannel} without the JDK's help: the one socket descriptor that appeared in /proc/self/fd. */
    static Opened openChannelThroughProc() throws IOException {
        java.util.Set<Integer> before = socketDescriptors();
        SocketChannel channel = SocketChannel.open();
        java.util.Set<Integer> added = socketDescriptors();
        added.removeAll(before);
        if (added.size() > 1) {
            dropUnixSockets(added); // the JDK's first channel also opens a socketpair of its own
        }
        if (added.size() != 1) {
            channel.close();
            throw new IOException("could not tell the new channel's descriptor from " + added + ": another thread"
                    + " opened sockets at the same time; retry");
        }
        return new Opened(channel, added.iterator().next());
    }

    /** A new channel and its descriptor. */
    record Opened(SocketChannel channel, int fd) {
    }

    /** Removes the descriptors whose socket is a Unix domain socket (its inode listed in /proc/net/unix). */
    private static void dropUnixSockets(java.util.Set<Integer> fds) throws IOException {
        java.util.Set<String> unix = new java.util.HashSet<>();
        for (String line : Files.readAllLines(Path.of("/proc/net/unix"))) {
            String[] f = line.trim().split("\\s+");
            if (f.length > 6) {
                unix.add("socket:[" + f[6] + "]");
            }
        }
        java.util.Map<Integer, String> links = socketLinks();
        fds.removeIf(fd -> unix.contains(links.get(fd)));
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

    /** The inode of the socket with these addresses in one of the tables, or null. */
    private static String inode(Path table, String local, String remote) throws IOException {
        for (String line : Files.readAllLines(table)) {
            String[] f = line.trim().split("\\s+");
            if (f.length > 9 && f[1].equals(local) && f[2].equals(remote)) {
                return f[9];
            }
        }
        return null;
    }

    /**
     * The address as an AF_INET6 socket sees it: the JDK opens dual-stack IPv6 sockets, so an IPv4 connection
     * is usually listed in tcp6 with its IPv4-mapped address (::ffff:a.b.c.d).
     */
    private static InetSocketAddress mapped(InetSocketAddress address) throws IOException {
        byte[] raw = address.getAddress().getAddress();
        if (raw.length == 16) {
            return address;
        }
        byte[] v6 = new byte[16];
        v6[10] = (byte) 0xff;
        v6[11] = (byte) 0xff;
        System.arraycopy(raw, 0, v6, 12, 4);
        return new InetSocketAddress(java.net.Inet6Address.getByAddress(null, v6, -1), address.getPort());
    }

    /** An address as /proc/net/tcp prints it: each 32-bit word of the address in host (little-endian) order. */
    static String procAddress(InetSocketAddress address) {
        byte[] raw = address.getAddress().getAddress();
        StringBuilder hex = new StringBuilder();
        for (int word = 0; word < raw.length; word += 4) {
            for (int i = 3; i >= 0; i--) {
                hex.append(HexFormat.of().toHexDigits(raw[word + i]));
            }
        }
        return hex.toString().toUpperCase(Locale.ROOT) + ":" + String.format("%04X", address.getPort());
    }
}
