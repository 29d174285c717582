package dev.kdirect.tcprepair;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Three network namespaces that stand for a client machine and two servers: "peer" is linked to "host A" and to "host
 * B" by veth pairs, both hosts carry the same service address, and the peer's route to it names one link or the other:
 * {@link #routeTo} is the cutover. The hosts are linked to each other by a third veth pair, their control network
 * ({@value #CONTROL_A} on A, {@value #CONTROL_B} on B), which a migration over TLS crosses. Names are unique per run
 * ({@code kdm<hex>p|a|b}); {@link #close} deletes the namespaces (and with them the veths and any lock table left
 * inside). Only these namespaces' addresses are used: the service address {@value #SERVICE}, the peer {@value #PEER},
 * the hosts' control addresses.
 */
public final class HostNamespaces implements AutoCloseable {
    public static final String SERVICE = "10.213.0.1";
    public static final String PEER = "10.213.1.2";
    public static final String CONTROL_A = "10.213.2.1";
    public static final String CONTROL_B = "10.213.2.2";

    public final String peer;
    public final String hostA;
    public final String hostB;
    private final String id;
    private final List<String> created = new ArrayList<>();

    private HostNamespaces(String id) {
        this.id = id;
        this.peer = "kdm" + id + "p";
        this.hostA = "kdm" + id + "a";
        this.hostB = "kdm" + id + "b";
    }

    public static HostNamespaces create() throws IOException, InterruptedException {
        RequiredTools.require("ip", "nft");
        var ns = new HostNamespaces(String.format(Locale.ROOT, "%06x", ThreadLocalRandom.current().nextInt(1 << 24)));
        try {
            ns.setUp();
        } catch (IOException | InterruptedException | RuntimeException e) {
            ns.close();
            throw e;
        }
        return ns;
    }

    private void setUp() throws IOException, InterruptedException {
        for (String n : List.of(peer, hostA, hostB)) {
            ip("netns", "add", n);
            created.add(n);
            ip("-n", n, "link", "set", "lo", "up");
        }
        ip("-n", peer, "addr", "add", PEER + "/32", "dev", "lo");
        for (String host : List.of(hostA, hostB)) {
            String toHost = link(peer, host);
            String toPeer = link(host, peer);
            ip("link", "add", toHost, "netns", peer, "type", "veth", "peer", "name", toPeer, "netns", host);
            ip("-n", peer, "link", "set", toHost, "up");
            ip("-n", host, "addr", "add", SERVICE + "/32", "dev", toPeer);
            ip("-n", host, "link", "set", toPeer, "up");
            ip("-n", host, "route", "add", PEER + "/32", "dev", toPeer);
        }
        String toB = link(hostA, hostB);
        String toA = link(hostB, hostA);
        ip("link", "add", toB, "netns", hostA, "type", "veth", "peer", "name", toA, "netns", hostB);
        for (String[] end : List.of(new String[] {hostA, toB, CONTROL_A}, new String[] {hostB, toA, CONTROL_B})) {
            ip("-n", end[0], "addr", "add", end[2] + "/30", "dev", end[1]);
            ip("-n", end[0], "link", "set", end[1], "up");
        }
        // A segment from the host that does not hold the route must not be dropped as spoofed.
        for (String conf : List.of("all", "default", link(peer, hostA), link(peer, hostB))) {
            run("ip", "netns", "exec", peer, "sysctl", "-q", "-w", "net.ipv4.conf." + conf + ".rp_filter=0");
        }
        routeTo(hostA);
    }

    /** The veth end in {@code from} that leads to {@code to} (at most 15 characters). */
    String link(String from, String to) {
        return "kd" + id + from.charAt(from.length() - 1) + to.charAt(to.length() - 1);
    }

    /** Cutover: the peer's traffic to the service address goes to this host from now on. */
    public void routeTo(String host) throws IOException, InterruptedException {
        ip("-n", peer, "route", "replace", SERVICE + "/32", "dev", link(peer, host), "src", PEER);
    }

    /** The kdirect lock tables in a namespace. */
    public List<String> lockTables(String namespace) throws IOException, InterruptedException {
        String out = run("ip", "netns", "exec", namespace, "nft", "list", "tables");
        return out.lines().filter(l -> l.contains(NetworkLock.PREFIX)).toList();
    }

    private static void ip(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("ip"));
        command.addAll(List.of(args));
        run(command.toArray(String[]::new));
    }

    static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + out.strip());
        }
        return out;
    }

    /** Deletes the namespaces; their veths and everything in them go too. */
    @Override
    public void close() throws IOException, InterruptedException {
        IOException first = null;
        for (String n : created.reversed()) {
            try {
                ip("netns", "delete", n);
            } catch (IOException e) {
                first = first == null ? e : first;
            }
        }
        created.clear();
        if (first != null) {
            throw first;
        }
    }
}
