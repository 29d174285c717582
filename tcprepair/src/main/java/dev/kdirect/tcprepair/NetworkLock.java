package dev.kdirect.tcprepair;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Drops every packet of a set of TCP connections, in both directions, while held: the network lock of a
 * migration (a frozen socket still retransmits, and a segment from the peer to a socket that is gone draws a
 * reset). It is one private nftables table in the network namespace of this process, as CRIU's nftables lock:
 * a set of (local address . local port . remote address . remote port) per IP version, matched as
 * saddr . sport . daddr . dport on the output hook and as daddr . dport . saddr . sport on the input hook, both
 * at raw priority (before conntrack), so one element covers both directions. All of it goes to the kernel in
 * one {@code nft -f -} batch, so ten thousand connections lock in one transaction.
 *
 * <p>Tables are named {@value #PREFIX}{@code <pidns>_<pid>_<start>_<n>}: the owner's PID namespace inode, its pid
 * there and its start time ({@link LockOwner}), so concurrent locks of this and other processes never collide, and a
 * process in another PID namespace sharing this network namespace (a pod's containers), or a later process that got
 * the same pid, is never taken for the owner. {@link #close} deletes the table; a shutdown hook deletes it if the
 * JVM exits first. A process killed outright leaves its table behind: the next lock in the namespace deletes every
 * table whose owner is provably gone ({@link #removeStale}: not among the processes of its PID namespace, or its pid
 * now another process's; the scan runs beside the lock's own nft, so it costs no extra time). A table whose PID
 * namespace this process cannot see (a sibling container's) is left alone; delete it by hand:
 * {@code nft delete table inet kdirect_lock_<pidns>_<pid>_<start>_<n>}.
 */
public final class NetworkLock implements ConnectionLock {
    /** The prefix of every lock table's name. */
    public static final String PREFIX = "kdirect_lock_";
    private static final Pattern TABLE = Pattern.compile("table inet " + PREFIX + "(\\d+)_(\\d+)_(\\d+)_(\\d+)");
    private static final AtomicInteger COUNTER = new AtomicInteger();

    /** One connection as seen from this host: its local and remote address. */
    public record Tuple(InetSocketAddress local, InetSocketAddress remote) {
        public Tuple {
            if (local.getAddress() instanceof Inet4Address != remote.getAddress() instanceof Inet4Address) {
                throw new IllegalArgumentException("mixed IP versions: " + local + " -> " + remote);
            }
        }

        /** The addresses of a connected channel. */
        public static Tuple of(SocketChannel channel) throws IOException {
            InetSocketAddress local = (InetSocketAddress) channel.getLocalAddress();
            InetSocketAddress remote = (InetSocketAddress) channel.getRemoteAddress();
            if (local == null || remote == null) {
                throw new IOException("the channel is not connected: nothing to lock");
            }
            return new Tuple(local, remote);
        }

        /** The addresses of a checkpointed connection. */
        public static Tuple of(ConnectionState state) {
            return new Tuple(state.local(), state.remote());
        }

        boolean ipv4() {
            return local.getAddress() instanceof Inet4Address;
        }
    }

    private final Nft nft;
    private final String table;
    private int size;
    private final Thread hook;
    private boolean released;

    private NetworkLock(Nft nft, String table, int size) {
        this.nft = nft;
        this.table = table;
        this.size = size;
        this.hook = new Thread(this::deleteQuietly, "kdirect-lock-cleanup " + table);
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** Locks the connections of these channels. */
    public static NetworkLock lockChannels(Collection<SocketChannel> channels) throws IOException {
        List<Tuple> tuples = new ArrayList<>();
        for (SocketChannel c : channels) {
            tuples.add(Tuple.of(c));
        }
        return lock(tuples);
    }

    /**
     * Locks these connections: when this returns, no packet of theirs passes in either direction in this network
     * namespace until {@link #close}. Stale tables of dead processes are deleted too.
     *
     * @throws NetworkLockException when nft is missing (install nftables), not permitted (needs CAP_NET_ADMIN),
     *     or refuses the batch; nothing is left behind
     */
    public static NetworkLock lock(Collection<Tuple> tuples) throws IOException {
        Nft nft = Nft.system();
        String table = processPrefix() + COUNTER.incrementAndGet();
        // The stale scan runs beside the lock's own nft, and both have ended when this returns: a child process
        // forked later, while a frozen socket is released, would hold its descriptor open and keep its 4-tuple.
        CompletableFuture<List<String>> stale = new CompletableFuture<>();
        Thread.ofPlatform().daemon().name("kdirect-lock-stale").start(() -> {
            try {
                stale.complete(staleTables(nft));
            } catch (IOException | RuntimeException e) {
                stale.complete(List.of()); // best effort: the next lock tries again
            }
        });
        nft.run(batch(table, tuples));
        NetworkLock lock = new NetworkLock(nft, table, tuples.size());
        List<String> gone = stale.join();
        if (!gone.isEmpty()) {
            try {
                deleteTables(nft, gone);
            } catch (IOException ignored) {
                // best effort: the next lock tries again
            }
        }
        return lock;
    }

    /** The table's name (unique per lock). */
    public String table() {
        return table;
    }

    /** How many connections it holds. */
    public synchronized int size() {
        return size;
    }

    /** Locks these connections too, in one transaction: the lock then holds them all until {@link #close}. */
    public synchronized void add(Collection<Tuple> tuples) throws IOException {
        if (released) {
            throw new IllegalStateException("the lock " + table + " was released");
        }
        StringBuilder b = new StringBuilder(tuples.size() * 80);
        elements(b, "inet " + table, "v4", tuples.stream().filter(Tuple::ipv4).toList());
        elements(b, "inet " + table, "v6", tuples.stream().filter(x -> !x.ipv4()).toList());
        if (!b.isEmpty()) {
            nft.run(b.toString());
        }
        size += tuples.size();
    }

    @Override
    public String removal() {
        return "remove it with: nft delete table inet " + table;
    }

    /** Lets the connections' packets pass again (deletes the table). Idempotent. */
    @Override
    public synchronized void close() throws IOException {
        if (released) {
            return;
        }
        released = true;
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException shuttingDown) {
            // the hook deletes the table in this case
        }
        deleteTables(nft, List.of(table));
    }

    /** The lock tables in this network namespace, of every process (for checks and for cleanup tools). */
    public static List<String> tables() throws IOException {
        return List.copyOf(tables(Nft.system()).keySet());
    }

    /** The start of the names of this process's lock tables: {@value #PREFIX}{@code <pidns>_<pid>_<start>_}. */
    public static String processPrefix() throws IOException {
        return PREFIX + LockOwner.current().name() + "_";
    }

    /** The lock tables, each with its owner. */
    private static java.util.Map<String, LockOwner> tables(Nft nft) throws IOException {
        java.util.Map<String, LockOwner> tables = new java.util.LinkedHashMap<>();
        Matcher m = TABLE.matcher(nft.run("list tables\n"));
        while (m.find()) {
            tables.put(PREFIX + m.group(1) + "_" + m.group(2) + "_" + m.group(3) + "_" + m.group(4),
                    new LockOwner(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)), Long.parseLong(m.group(3))));
        }
        return tables;
    }

    /**
     * Deletes the lock tables whose owner is provably gone (killed before it could unlock): its PID namespace is
     * visible here and the process is not in it, or its pid belongs to a process started later. Live owners, and
     * owners in PID namespaces this process cannot see, keep their tables.
     */
    public static List<String> removeStale() throws IOException {
        Nft nft = Nft.system();
        List<String> stale = staleTables(nft);
        deleteTables(nft, stale);
        return stale;
    }

    private static List<String> staleTables(Nft nft) throws IOException {
        LockOwner self = LockOwner.current();
        var others = tables(nft).entrySet().stream().filter(t -> !t.getValue().equals(self)).toList();
        if (others.isEmpty()) {
            return List.of(); // the /proc scan only when there is something to decide
        }
        LockOwner.Processes processes = LockOwner.Processes.scan();
        return others.stream().filter(t -> processes.isGone(t.getValue())).map(java.util.Map.Entry::getKey).toList();
    }

    private static void deleteTables(Nft nft, List<String> tables) throws IOException {
        if (!tables.isEmpty()) {
            StringBuilder batch = new StringBuilder();
            tables.forEach(t -> batch.append("delete table inet ").append(t).append('\n'));
            nft.run(batch.toString());
        }
    }

    private void deleteQuietly() {
        try {
            deleteTables(nft, List.of(table));
        } catch (IOException ignored) {
            // the JVM is exiting: nothing more can be done; the next lock removes it as stale
        }
    }

    /** The whole lock as one nft transaction: it applies completely or not at all. */
    static String batch(String table, Collection<Tuple> tuples) {
        StringBuilder b = new StringBuilder(128 + tuples.size() * 80);
        String t = "inet " + table;
        b.append("add table ").append(t).append('\n');
        b.append("add set ").append(t).append(" v4 { type ipv4_addr . inet_service . ipv4_addr . inet_service; }\n");
        b.append("add set ").append(t).append(" v6 { type ipv6_addr . inet_service . ipv6_addr . inet_service; }\n");
        for (String hook : List.of("input", "output")) {
            b.append("add chain ").append(t).append(' ').append(hook).append(" { type filter hook ").append(hook)
                    .append(" priority raw; policy accept; }\n");
            // the set holds local . lport . remote . rport: the source of what leaves, the destination of what arrives
            String local = hook.equals("output") ? "saddr" : "daddr";
            String localPort = hook.equals("output") ? "sport" : "dport";
            String remote = hook.equals("output") ? "daddr" : "saddr";
            String remotePort = hook.equals("output") ? "dport" : "sport";
            for (String ip : List.of("ip", "ip6")) {
                b.append("add rule ").append(t).append(' ').append(hook).append(' ').append(ip).append(' ')
                        .append(local).append(" . tcp ").append(localPort).append(" . ").append(ip).append(' ')
                        .append(remote).append(" . tcp ").append(remotePort).append(" @v")
                        .append(ip.equals("ip") ? '4' : '6').append(" drop\n");
            }
        }
        elements(b, t, "v4", tuples.stream().filter(Tuple::ipv4).toList());
        elements(b, t, "v6", tuples.stream().filter(x -> !x.ipv4()).toList());
        return b.toString();
    }

    /** One element per connection, local side first. */
    private static void elements(StringBuilder b, String table, String set, List<Tuple> tuples) {
        if (tuples.isEmpty()) {
            return;
        }
        b.append("add element ").append(table).append(' ').append(set).append(" { ");
        boolean first = true;
        for (Tuple x : tuples) {
            b.append(first ? "" : ", ");
            element(b, x.local());
            b.append(" . ");
            element(b, x.remote());
            first = false;
        }
        b.append(" }\n");
    }

    private static void element(StringBuilder b, InetSocketAddress address) {
        String host = address.getAddress().getHostAddress();
        int scope = host.indexOf('%'); // nft takes no IPv6 scope id
        b.append(scope < 0 ? host : host.substring(0, scope)).append(" . ").append(address.getPort());
    }
}
