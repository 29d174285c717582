package dev.kdirect.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The network namespaces of {@link TcpMigrationHostsBenchmark} (as the tests' HostNamespaces): a peer linked to two
 * hosts A and B by veth pairs, the same service address on both hosts, the peer's route to it naming one link or
 * the other ({@link #routeTo}: the cutover), and the hosts linked to each other ({@link #CONTROL_A},
 * {@link #CONTROL_B}), which a migration over TLS crosses. Also a test CA and the hosts' keys, made with the JDK's
 * keytool (every file's password is {@link #PASSWORD}). {@link #close} deletes it all.
 */
final class HostPair implements AutoCloseable {
    static final String SERVICE = "10.213.0.1";
    static final String PEER = "10.213.1.2";
    static final String CONTROL_A = "10.213.2.1";
    static final String CONTROL_B = "10.213.2.2";
    static final String PASSWORD = "kdirect-bench";

    final String peer;
    final String hostA;
    final String hostB;
    final Path keys;
    private final String id = String.format(Locale.ROOT, "%06x", ThreadLocalRandom.current().nextInt(1 << 24));
    private final List<String> created = new ArrayList<>();

    HostPair() throws IOException, InterruptedException {
        peer = "kdb" + id + "p";
        hostA = "kdb" + id + "a";
        hostB = "kdb" + id + "b";
        keys = Files.createTempDirectory("kdirect-bench-keys");
        try {
            for (String n : List.of(peer, hostA, hostB)) {
                run("ip", "netns", "add", n);
                created.add(n);
                run("ip", "-n", n, "link", "set", "lo", "up");
            }
            run("ip", "-n", peer, "addr", "add", PEER + "/32", "dev", "lo");
            for (String host : List.of(hostA, hostB)) {
                veth(peer, host, null, null);
                run("ip", "-n", host, "addr", "add", SERVICE + "/32", "dev", link(host, peer));
                run("ip", "-n", host, "route", "add", PEER + "/32", "dev", link(host, peer));
            }
            veth(hostA, hostB, CONTROL_A + "/30", CONTROL_B + "/30");
            run("ip", "netns", "exec", peer, "sysctl", "-q", "-w", "net.ipv4.conf.all.rp_filter=0");
            routeTo(hostA);
            certificates();
        } catch (IOException | InterruptedException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /** A veth pair between two namespaces, up, with these addresses (null: none). */
    private void veth(String a, String b, String addressA, String addressB) throws IOException, InterruptedException {
        run("ip", "link", "add", link(a, b), "netns", a, "type", "veth", "peer", "name", link(b, a), "netns", b);
        for (String[] end : List.of(new String[] {a, link(a, b), addressA}, new String[] {b, link(b, a), addressB})) {
            if (end[2] != null) {
                run("ip", "-n", end[0], "addr", "add", end[2], "dev", end[1]);
            }
            run("ip", "-n", end[0], "link", "set", end[1], "up");
        }
    }

    /** The veth end in {@code from} that leads to {@code to}. */
    String link(String from, String to) {
        return "kb" + id + from.charAt(from.length() - 1) + to.charAt(to.length() - 1);
    }

    /** The command that points the peer's route to the service address at {@code host}. */
    List<String> routeCommand(String host) {
        return List.of("ip", "-n", peer, "route", "replace", SERVICE + "/32", "dev", link(peer, host), "src", PEER);
    }

    void routeTo(String host) throws IOException, InterruptedException {
        run(routeCommand(host).toArray(String[]::new));
    }

    /** A CA, and keys for host A and B signed by it for their control addresses; the truststore holds the CA. */
    private void certificates() throws IOException, InterruptedException {
        keytool("-genkeypair", "-keystore", file("ca.p12"), "-alias", "ca", "-dname", "CN=bench CA", "-keyalg", "EC",
                "-groupname", "secp256r1", "-ext", "bc:c");
        keytool("-exportcert", "-keystore", file("ca.p12"), "-alias", "ca", "-rfc", "-file", file("ca.pem"));
        keytool("-importcert", "-keystore", file("trust.p12"), "-alias", "ca", "-file", file("ca.pem"), "-noprompt");
        for (String[] host : new String[][] {{"a", CONTROL_A}, {"b", CONTROL_B}}) {
            String store = file(host[0] + ".p12");
            keytool("-genkeypair", "-keystore", store, "-alias", "host", "-dname", "CN=" + host[0], "-keyalg", "EC",
                    "-groupname", "secp256r1");
            keytool("-certreq", "-keystore", store, "-alias", "host", "-file", file(host[0] + ".csr"));
            keytool("-gencert", "-keystore", file("ca.p12"), "-alias", "ca", "-infile", file(host[0] + ".csr"),
                    "-outfile", file(host[0] + ".pem"), "-rfc", "-ext", "san=ip:" + host[1], "-ext",
                    "eku=serverAuth,clientAuth");
            Files.writeString(keys.resolve(host[0] + "-chain.pem"), Files.readString(keys.resolve(host[0] + ".pem"))
                    + Files.readString(keys.resolve("ca.pem")));
            keytool("-importcert", "-keystore", store, "-alias", "host", "-file", file(host[0] + "-chain.pem"),
                    "-noprompt");
        }
    }

    String file(String name) {
        return keys.resolve(name).toString();
    }

    private static void keytool(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool")
                .toString(), args[0], "-storetype", "PKCS12", "-storepass", PASSWORD));
        command.addAll(List.of(args).subList(1, args.length));
        run(command.toArray(String[]::new));
    }

    static void run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + out.strip());
        }
    }

    @Override
    public void close() throws IOException, InterruptedException {
        for (String n : created.reversed()) {
            run("ip", "netns", "delete", n);
        }
        created.clear();
        try (var files = Files.list(keys)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        Files.deleteIfExists(keys);
    }
}
