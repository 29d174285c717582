package dev.kdirect.examples.cli;

import dev.kdirect.Credentials;
import dev.kdirect.Feature;
import dev.kdirect.examples.handoff.Child;
import dev.kdirect.examples.handoff.EchoConnection;
import dev.kdirect.examples.handoff.ReadableCopy;
import dev.kdirect.examples.handoff.StreamingClient;
import dev.kdirect.tcprepair.MigrationMode;
import dev.kdirect.tcprepair.MigrationSource;
import dev.kdirect.tcprepair.MigrationTarget;
import dev.kdirect.tcprepair.NetworkLock;
import dev.kdirect.tcprepair.RepairHelperClient;
import dev.kdirect.tcprepair.TcpRepair;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kdirect tcp-handoff}: a zero-downtime restart. An echo server hands its live client connections (TCP
 * repair, an nftables lock, the migration protocol over a Unix domain socket) to a freshly started successor while
 * the clients, separate processes, keep streaming and checking every echoed byte; each client's downtime is the
 * longest gap in its echo stream.
 */
@Command(name = "tcp-handoff", mixinStandardHelpOptions = true,
        description = {"Zero-downtime restart: a server hands its live TCP connections to a successor process while"
                + " the clients keep streaming; prints each connection's downtime (the longest gap in its echo"
                + " stream).",
            "'demo' runs it all on loopback: server, clients and successor as separate processes (with"
                + " --unprivileged: as uid 65534 without capabilities, through a repair helper). 'server',"
                + " 'successor' and 'client' are the pieces, to run by hand in separate terminals.",
            "Needs CAP_NET_ADMIN (run with sudo), or a repair helper for server and successor (--repair-helper), and"
                + " nft (apt-get install nftables)."},
        exitCodeListHeading = "Exit status:%n",
        exitCodeList = {"0:every connection moved and no client saw a wrong byte, a reset or an end of stream",
            "1:otherwise", FriendlyErrors.EXIT_USAGE, "3:TCP repair or nft is not available here (not root?)",
            FriendlyErrors.EXIT_ERRNO, FriendlyErrors.EXIT_BUG},
        subcommands = {TcpHandoffCommand.Demo.class, TcpHandoffCommand.Server.class,
            TcpHandoffCommand.Successor.class, TcpHandoffCommand.Client.class})
final class TcpHandoffCommand implements Runnable {
    /** The uid --unprivileged runs the services as: nobody on Debian. */
    static final int NOBODY = 65534;

    /** How long either side waits for the other at one step before rolling back (slow machines, emulators). */
    private static final Duration STEP_TIMEOUT = Duration.ofSeconds(30);

    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** TCP repair and the lock must work here: say so before anything starts. */
    static void ensureReady() throws IOException {
        Feature.TCP_REPAIR.ensureAvailable();
        NetworkLock.tables(); // runs nft: missing or not permitted is reported now
    }

    /**
     * Prints this process's uid and effective capabilities (CapEff of /proc/self/status); the TCP repair to use: this
     * process's own CAP_NET_ADMIN, or with {@code helper} a repair helper's (then this process needs none, and the
     * network lock is the helper's too).
     */
    static TcpRepair repair(Path helper, Events events) throws IOException {
        Credentials self = Credentials.ofCurrentProcess();
        String capEff = String.format("%016x", self.effectiveCapabilities());
        events.emit("CAPABILITIES", "uid " + self.euid() + " CapEff " + capEff, "uid", self.euid(), "capEff", capEff);
        if (helper == null) {
            ensureReady();
            return TcpRepair.system();
        }
        return TcpRepair.through(RepairHelperClient.connect(helper)); // open until this process ends
    }

    @Command(name = "demo", mixinStandardHelpOptions = true,
            description = "Starts an echo server, N streaming clients and, after a moment, the successor the server"
                    + " hands every connection to; then reports each client's downtime.",
            exitCodeListHeading = "Exit status:%n",
            exitCodeList = {"0:every connection moved and no client saw a wrong byte, a reset or an end of stream",
                "1:otherwise", FriendlyErrors.EXIT_USAGE, "3:TCP repair or nft is not available here (not root?)",
                FriendlyErrors.EXIT_ERRNO, FriendlyErrors.EXIT_BUG})
    static final class Demo implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--clients", defaultValue = "3", description = "Streaming clients (default 3).")
        int clients;

        @Option(names = "--json", description = "Print the outcome as JSON.")
        boolean json;

        @Option(names = "--unprivileged", description = "Run server, successor and clients as uid 65534 (nobody)"
                + " with no capabilities; a repair helper (kdirect repair-helper, root) started for them is the only"
                + " privileged process. Each prints its effective capabilities.")
        boolean unprivileged;

        @Override
        public Integer call() throws Exception {
            if (clients < 1 || clients > 1000) {
                throw new IllegalArgumentException("--clients must be 1 to 1000, not " + clients);
            }
            if (unprivileged && Credentials.ofCurrentProcess().euid() != 0) {
                throw new IllegalArgumentException("--unprivileged starts the repair helper as root and the services"
                        + " as uid " + NOBODY + ": run it with sudo");
            }
            ensureReady();
            PrintWriter out = spec.commandLine().getOut();
            Path dir = Files.createTempDirectory("kdirect-handoff");
            List<String> progress = new CopyOnWriteArrayList<>();
            List<Child> children = new ArrayList<>();
            try {
                Privileges privileges = unprivileged ? Privileges.prepare(dir, children) : Privileges.NONE;
                Path socket = privileges.serviceDirectory(dir).resolve("handoff.sock");
                Child server = privileges.start(children, "server", "tcp-handoff", "server", "--port", "0",
                        "--handoff", socket.toString());
                String serverCaps = server.await("CAPABILITIES", 120, progress::add);
                privileges.observe(server);
                String port = server.await("LISTENING", 120, progress::add).split(" ")[1];
                List<Child> streaming = new ArrayList<>();
                for (int i = 0; i < clients; i++) {
                    streaming.add(privileges.start(children, "client " + (i + 1), "tcp-handoff", "client",
                            "--connect", "127.0.0.1:" + port));
                }
                for (Child c : streaming) {
                    c.await("STREAMING", 120, l -> { });
                    privileges.observe(c);
                }
                Thread.sleep(500);
                if (!json) {
                    out.println("tcp-handoff: " + clients + " clients streaming through the server on 127.0.0.1:"
                            + port + "; starting the successor");
                    out.flush();
                }
                Child successor = privileges.start(children, "successor", "tcp-handoff", "successor", "--port",
                        port, "--handoff", socket.toString());
                String successorCaps = successor.await("CAPABILITIES", 120, progress::add);
                privileges.observe(successor);
                Consumer<String> show = HandoffDemo.show(progress, json, out);
                String handed = server.await("HANDED", 300, show);
                String took = successor.await("TOOK", 120, show);
                server.waitFor(30);
                Thread.sleep(500); // the clients stream on through the successor
                String[] h = handed.split(" ", 5);
                String[] t = took.split(" ");
                List<Map<String, Object>> results = HandoffDemo.stopClients(streaming);
                boolean clean = h[1].equals(h[2]) && h[2].equals(String.valueOf(clients))
                        && HandoffDemo.noClientFailed(results);
                Map<String, Object> report = new LinkedHashMap<>();
                report.put("clients", clients);
                report.put("moved", Integer.parseInt(h[1]));
                report.put("lockHeldMs", Long.parseLong(h[3]));
                report.put("handoffFailure", h.length > 4 ? h[4] : null);
                report.put("successorTook", Integer.parseInt(t[1]));
                report.put("successorMs", Long.parseLong(t[2]));
                report.put("connections", results);
                if (unprivileged) {
                    Map<String, Object> processes = new LinkedHashMap<>();
                    processes.put("server says", selfReported(serverCaps));
                    processes.put("successor says", selfReported(successorCaps));
                    processes.putAll(privileges.observed());
                    List<String> helperLocks = privileges.helperLocks();
                    report.put("helperLocks", helperLocks);
                    // the server's lock was the helper's, for the server's uid, on every connection
                    clean &= helperLocks.stream().anyMatch(l -> l.contains("\"uid\": " + NOBODY)
                            && l.contains(", " + clients + " connections)"));
                    // every piece but the helper: uid 65534 with no capability, by its own word and by /proc's
                    clean &= privileges.onlyTheHelperIsPrivileged() && serverCaps.endsWith("CapEff 0000000000000000")
                            && successorCaps.endsWith("CapEff 0000000000000000");
                    report.put("processes", processes);
                }
                report.put("ok", clean);
                out.println(json ? Json.write(report) : story(report, results));
                out.flush();
                return clean ? 0 : 1;
            } finally {
                HandoffDemo.closeAll(children); // the helper last: it serves the others to the end
                ReadableCopy.delete(dir); // this demo's own directory: its sockets and the class path copy
            }
        }

        /** A CAPABILITIES line's facts: "CAPABILITIES uid 65534 CapEff 0000000000000000". */
        private static Map<String, Object> selfReported(String line) {
            String[] w = line.split(" ");
            Map<String, Object> facts = new LinkedHashMap<>();
            facts.put("uid", Integer.parseInt(w[2]));
            facts.put("capEff", w[4]);
            return facts;
        }

        /**
         * Who runs the demo's pieces: this user (root), or, with --unprivileged, uid 65534 without capabilities,
         * with a repair helper (root) started first.
         */
        private record Privileges(Child.Unprivileged as, Child helper, Path helperSocket,
                Map<String, Map<String, Object>> observed) {
            static final Privileges NONE = new Privileges(null, null, null, Map.of());
            static final String HELPER = "repair helper";

            /**
             * The layout: the demo's directory (root, 0755: the helper's socket, mode 0666, and a class path copy
             * uid 65534 can read) and in it the services' own (uid 65534, 0700: the handoff socket); then the
             * helper, allow-listing uid 65534, started and listening.
             */
            static Privileges prepare(Path dir, List<Child> children) throws IOException, InterruptedException {
                Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString(
                        "rwxr-xr-x"));
                Path services = Files.createDirectory(dir.resolve("services"));
                Files.setAttribute(services, "unix:uid", NOBODY);
                Files.setAttribute(services, "unix:gid", NOBODY);
                String classPath = ReadableCopy.of(Child.classPath(), dir.resolve("classpath"));
                Path helperSocket = dir.resolve("helper.sock");
                Child helper = Child.start(HELPER, "repair-helper", "--socket", helperSocket.toString(),
                        "--allow-uid", String.valueOf(NOBODY), "--json");
                children.add(helper);
                String first = helper.await("{", 120, l -> { });
                if (!first.contains("\"event\": \"listening\"")) {
                    throw new IOException("the repair helper did not start: " + first);
                }
                Privileges privileges = new Privileges(new Child.Unprivileged(NOBODY, classPath), helper,
                        helperSocket, new LinkedHashMap<>());
                privileges.observe(helper);
                return privileges;
            }

            /** Records what /proc says of a running piece: pid, uid, CapEff. */
            void observe(Child c) throws IOException {
                if (as != null) {
                    Child.Identity id = c.identity();
                    Map<String, Object> facts = new LinkedHashMap<>();
                    facts.put("uid", id.uid());
                    facts.put("capEff", id.effectiveCapabilities());
                    facts.put("pid", c.pid());
                    observed.put(c.name() + " (/proc)", facts);
                }
            }

            /**
             * The helper's log of the server's lock, up to its unlock (it logs before it replies, so the lines are
             * there once the server reported the handoff).
             */
            List<String> helperLocks() throws IOException, InterruptedException {
                List<String> locks = new ArrayList<>();
                String line;
                do {
                    line = helper.await("{", 30, l -> { });
                    if (line.contains("\"event\": \"locked\"") || line.contains("\"event\": \"unlocked\"")) {
                        locks.add(line);
                    }
                } while (!line.contains("\"event\": \"unlocked\""));
                return locks;
            }

            /** The helper is the one piece with a capability; the others run as uid 65534. */
            boolean onlyTheHelperIsPrivileged() {
                return observed.entrySet().stream().allMatch(e -> e.getKey().startsWith(HELPER)
                        ? !e.getValue().get("capEff").equals("0000000000000000")
                        : e.getValue().get("uid").equals(NOBODY) && e.getValue().get("capEff")
                                .equals("0000000000000000"));
            }

            Path serviceDirectory(Path dir) {
                return as == null ? dir : dir.resolve("services");
            }

            /** Starts a piece; server and successor are pointed at the helper. */
            Child start(List<Child> children, String name, String... args) throws IOException {
                List<String> all = new ArrayList<>(List.of(args));
                if (helperSocket != null && (args[1].equals("server") || args[1].equals("successor"))) {
                    all.addAll(List.of("--repair-helper", helperSocket.toString()));
                }
                Child c = Child.start(name, as, all.toArray(String[]::new));
                children.add(c);
                return c;
            }
        }

        private static String story(Map<String, Object> report, List<Map<String, Object>> results) {
            StringBuilder s = new StringBuilder();
            s.append("  server: handed ").append(report.get("moved")).append(" of ").append(report.get("clients"))
                    .append(" connections; network lock held ").append(report.get("lockHeldMs")).append(" ms")
                    .append(report.get("handoffFailure") == null ? "" : "; failed: " + report.get("handoffFailure"))
                    .append('\n');
            s.append("  successor: took ").append(report.get("successorTook")).append(" connections in ")
                    .append(report.get("successorMs")).append(" ms\n");
            HandoffDemo.tellClients(s, results);
            if (report.get("processes") instanceof Map<?, ?> processes) {
                processes.forEach((who, facts) -> s.append("  ").append(who).append(": ").append(facts.toString()
                        .replaceAll("[{}]", "").replace("=", " ")).append('\n'));
                s.append("  repair helper's log of the lock:\n");
                ((List<?>) report.get("helperLocks")).forEach(l -> s.append("    ").append(l).append('\n'));
            }
            s.append(Boolean.TRUE.equals(report.get("ok")) ? "  result: every connection moved, the clients noticed"
                    + " only the pause" : "  result: FAILED");
            return s.toString();
        }
    }

    @Command(name = "server", mixinStandardHelpOptions = true,
            description = {"An echo server on 127.0.0.1:PORT that hands all its connections to the successor as"
                    + " soon as one listens on the handoff socket, then exits (connections the successor could not"
                    + " take stay here, and the server goes on until its input ends).",
                "Prints CAPABILITIES uid U CapEff HEX, LISTENING port, PROGRESS lines, HANDED moved total"
                    + " lock-held-ms [failure]; with --json one JSON object per line instead."},
            exitCodeListHeading = "Exit status:%n",
            exitCodeList = {"0:every connection was handed over", "1:some stayed here (served until the input"
                    + " ends)", FriendlyErrors.EXIT_USAGE, "3:TCP repair or nft is not available here (not root?)",
                FriendlyErrors.EXIT_ERRNO, FriendlyErrors.EXIT_BUG})
    static final class Server implements Callable<Integer> {
        @Option(names = "--json", description = "Print one JSON object per line.")
        boolean json;

        @Option(names = "--port", defaultValue = "0", description = "The port (0: any free one).")
        int port;

        @Option(names = "--handoff", required = true, paramLabel = "SOCKET",
                description = "The Unix domain socket the successor listens on (in a directory only this user or"
                        + " root may write to; the server checks who listens there before it sends anything).")
        Path handoff;

        @Option(names = "--repair-helper", paramLabel = "SOCKET", description = "Ask the repair helper listening"
                + " there (kdirect repair-helper, root) for TCP repair and the network lock: this process then needs"
                + " no capability.")
        Path repairHelper;

        @Override
        public Integer call() throws Exception {
            Events events = new Events(System.out, json);
            TcpRepair repair = repair(repairHelper, events);
            MigrationSource source = MigrationSource.to(handoff).repair(repair); // refuses an over-long path now
            HandoffDemo.requireDirectory(handoff);
            List<EchoConnection> connections = new CopyOnWriteArrayList<>();
            ServerSocketChannel listener = listen(port);
            int listening = ((InetSocketAddress) listener.getLocalAddress()).getPort();
            events.emit("LISTENING", String.valueOf(listening), "port", listening);
            Thread acceptor = echoEveryClient(listener, connections);
            while (!Files.exists(handoff, LinkOption.NOFOLLOW_LINKS)) { // never deleted here: the successor's
                Thread.sleep(20);
            }
            listener.close(); // new clients go to the successor's listener (SO_REUSEPORT) from now on
            acceptor.join();
            List<MigrationSource.Outgoing> outgoing = new ArrayList<>();
            for (EchoConnection c : connections) {
                outgoing.add(new MigrationSource.Outgoing(c.channel(), c.stop()));
            }
            MigrationSource.Report report = source.mode(MigrationMode.SAME_NAMESPACE)
                    .timeout(STEP_TIMEOUT).progress(HandoffDemo.progress(events, "server")).migrate(outgoing);
            long moved = report.count(MigrationSource.Status.MOVED);
            long lockHeldMs = report.lockedNanos() / 1_000_000;
            events.emit("HANDED", moved + " " + outgoing.size() + " " + lockHeldMs
                    + (report.failure() == null ? "" : " " + report.failure()), "moved", moved, "total",
                    outgoing.size(), "lockHeldMs", lockHeldMs, "failure", report.failure());
            if (moved == outgoing.size()) {
                return 0;
            }
            for (MigrationSource.Outcome o : report.outcomes()) {
                if (o.channel() != null) {
                    new EchoConnection(o.channel(), outgoing.get(o.index()).attachment());
                }
            }
            HandoffDemo.waitForEndOfInput();
            return 1;
        }
    }

    @Command(name = "successor", mixinStandardHelpOptions = true,
            description = {"The server's successor: listens on the same port (SO_REUSEPORT) and on the handoff"
                    + " socket, takes the connections the server hands over and echoes on them until its input ends.",
                "Prints CAPABILITIES uid U CapEff HEX, READY, PROGRESS lines, TOOK connections ms; with --json one JSON"
                    + " object per line instead."},
            exitCodeListHeading = "Exit status:%n",
            exitCodeList = {"0:its input ended after the handoff", FriendlyErrors.EXIT_USAGE,
                "3:TCP repair or nft is not available here (not root?)", FriendlyErrors.EXIT_ERRNO,
                FriendlyErrors.EXIT_BUG})
    static final class Successor implements Callable<Integer> {
        @Option(names = "--json", description = "Print one JSON object per line.")
        boolean json;

        @Option(names = "--port", required = true, description = "The server's port.")
        int port;

        @Option(names = "--handoff", required = true, paramLabel = "SOCKET",
                description = "The Unix domain socket to listen on for the handoff: a new one (nothing may be at"
                        + " the path), in an existing directory that only this user or root may write to.")
        Path handoff;

        @Option(names = "--repair-helper", paramLabel = "SOCKET", description = "Ask the repair helper listening"
                + " there (kdirect repair-helper, root) for TCP repair and the network lock: this process then needs"
                + " no capability.")
        Path repairHelper;

        @Override
        public Integer call() throws Exception {
            Events events = new Events(System.out, json);
            TcpRepair repair = repair(repairHelper, events);
            ServerSocketChannel listener = listen(port);
            echoEveryClient(listener, new CopyOnWriteArrayList<>());
            List<MigrationTarget.Incoming> incoming;
            try (MigrationTarget target = MigrationTarget.listen(handoff)) {
                events.emit("READY", "");
                target.repair(repair).timeout(STEP_TIMEOUT).progress(HandoffDemo.progress(events, "successor"));
                long start = System.nanoTime();
                incoming = target.accept();
                for (MigrationTarget.Incoming in : incoming) {
                    new EchoConnection(in.channel(), in.attachment());
                }
                long ms = (System.nanoTime() - start) / 1_000_000;
                events.emit("TOOK", incoming.size() + " " + ms, "connections", incoming.size(), "ms", ms);
            }
            HandoffDemo.waitForEndOfInput();
            return 0;
        }
    }

    @Command(name = "client", mixinStandardHelpOptions = true,
            description = {"Streams to the echo server and checks every echoed byte until its input says 'stop' or"
                    + " ends.", "Prints STREAMING, then RESULT sent verified longest-gap-ms error-or-dash; with --json"
                    + " one JSON object per line instead."},
            exitCodeListHeading = "Exit status:%n",
            exitCodeList = {"0:every echoed byte was right", "1:a wrong byte, a reset or an end of stream",
                FriendlyErrors.EXIT_USAGE, FriendlyErrors.EXIT_ERRNO, FriendlyErrors.EXIT_BUG})
    static final class Client implements Callable<Integer> {
        @Option(names = "--json", description = "Print one JSON object per line.")
        boolean json;

        @Option(names = "--connect", required = true, paramLabel = "HOST:PORT", description = "The server.")
        String connect;

        @Override
        public Integer call() throws Exception {
            Events events = new Events(System.out, json);
            StreamingClient client = new StreamingClient(HandoffDemo.address(connect));
            HandoffDemo.streamUntilStopped(events, client::verified);
            StreamingClient.Result r = client.stop();
            return HandoffDemo.result(events, r.sent(), r.verified(), r.longestGapMillis(), r.error());
        }
    }

    /** Accepts clients until the listener closes, echoing on each; returns the accepting thread. */
    private static Thread echoEveryClient(ServerSocketChannel listener, List<EchoConnection> connections) {
        return Thread.ofPlatform().daemon().name("acceptor").start(() -> {
            try {
                while (true) {
                    connections.add(new EchoConnection(listener.accept(), new byte[0]));
                }
            } catch (IOException closed) {
                // the listener was closed: for the handoff, or on exit
            }
        });
    }

    private static ServerSocketChannel listen(int port) throws IOException {
        ServerSocketChannel listener = ServerSocketChannel.open();
        listener.setOption(StandardSocketOptions.SO_REUSEADDR, true);
        listener.setOption(StandardSocketOptions.SO_REUSEPORT, true); // predecessor and successor share the port
        return listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    }
}
