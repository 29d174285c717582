package dev.kdirect.examples.cli;

import dev.kdirect.tcprepair.RepairHelper;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.function.Consumer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kdirect repair-helper}: the one process that needs CAP_NET_ADMIN, so that services checkpoint and restore
 * TCP connections without it ({@code TcpRepair.through(RepairHelperClient)}). See docs/tcprepair.md, "Repair helper".
 */
@Command(name = "repair-helper", mixinStandardHelpOptions = true,
        description = {"The privileged helper for TCP repair in services without capabilities: listens on a Unix"
                + " domain socket and sets TCP_REPAIR (passt-repair's protocol: one byte 1, 0 or -1 with 1 to 253"
                + " sockets as SCM_RIGHTS; the reply is the same byte, a closed connection is a failure) and, as a"
                + " kdirect extension, SO_SNDBUFFORCE and SO_RCVBUFFORCE on the sockets handed to it, and the network"
                + " lock (nft) on their connections, removed when the client unlocks or its connection closes.",
            "Clients are authenticated by SO_PEERCRED: root and the uids of --allow-uid only. Only TCP sockets are"
                + " touched; every acceptance, refusal, action, lock and unlock is logged to standard output.",
            "Needs CAP_NET_ADMIN (root, or systemd's AmbientCapabilities=CAP_NET_ADMIN). Runs until stopped"
                + " (SIGTERM); the socket file is removed then."},
        exitCodeListHeading = "Exit status:%n",
        exitCodeList = {"0:stopped",
            FriendlyErrors.EXIT_USAGE,
            "3:it cannot start (no CAP_NET_ADMIN, or the path is taken)",
            FriendlyErrors.EXIT_ERRNO,
            FriendlyErrors.EXIT_BUG})
final class RepairHelperCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--socket", defaultValue = "/run/kdirect/repair.sock", paramLabel = "PATH",
            description = "The socket to listen on (default ${DEFAULT-VALUE}); its directory must exist.")
    Path socket;

    @Option(names = "--allow-uid", split = ",", paramLabel = "UID",
            description = "Uids allowed besides root (the services' users).")
    List<Integer> allowUids = List.of();

    @Option(names = "--json", description = "Log one JSON object per line.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        Set<Integer> allowed = new TreeSet<>(allowUids);
        allowed.add(0);
        if (allowed.stream().anyMatch(uid -> uid < 0)) {
            throw new IllegalArgumentException("--allow-uid takes uids, 0 or more, not " + allowUids);
        }
        PrintWriter out = spec.commandLine().getOut();
        Consumer<RepairHelper.Event> log = event -> {
            synchronized (out) {
                out.println(json ? Json.line(json(event)) : Instant.now() + " " + event);
                out.flush();
            }
        };
        try (RepairHelper helper = RepairHelper.start(socket, allowed, log)) {
            Thread stop = new Thread(() -> {
                try {
                    helper.close();
                } catch (java.io.IOException e) {
                    log.accept(new RepairHelper.Event("error", null, "while stopping: " + e.getMessage()));
                }
            }, "kdirect-repair-helper-stop");
            Runtime.getRuntime().addShutdownHook(stop);
            try {
                helper.join();
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt(); // stopped by its caller (tests): close below
            } finally {
                try {
                    Runtime.getRuntime().removeShutdownHook(stop);
                } catch (IllegalStateException shuttingDown) {
                    // the hook is closing it
                }
            }
        }
        return 0;
    }

    private static Map<String, Object> json(RepairHelper.Event event) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("time", Instant.now().toString());
        m.put("event", event.kind());
        if (event.client() != null) {
            m.put("pid", event.client().pid());
            m.put("uid", event.client().uid());
            m.put("gid", event.client().gid());
        }
        m.put("detail", event.detail());
        return m;
    }
}
