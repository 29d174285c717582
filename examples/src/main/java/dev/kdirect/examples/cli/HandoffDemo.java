package dev.kdirect.examples.cli;

import dev.kdirect.examples.handoff.Child;
import dev.kdirect.examples.handoff.Progress;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

/**
 * What {@code tcp-handoff} and {@code netty-handoff} share: the pieces' line protocol (PROGRESS lines, "stop" on
 * standard input, HOST:PORT) and the demo's side of it (showing the progress, stopping the clients and reading their
 * RESULT lines, the clients' part of the story).
 */
final class HandoffDemo {
    private HandoffDemo() {
    }

    /** Progress lines: "PROGRESS server frozen 3 of 10", or as JSON. */
    static Progress progress(Events events, String who) {
        return new Progress((phase, done, total) -> events.emit("PROGRESS", who + " " + phase + " " + done + " of "
                + total, "who", who, "phase", phase, "done", done, "total", total));
    }

    /** Until standard input ends or says "stop". */
    static void waitForEndOfInput() throws IOException {
        var in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null && !line.equals("stop"); ) {
            // keep serving
        }
    }

    /** A client's --connect HOST:PORT; anything else is refused with a message. */
    static InetSocketAddress address(String connect) throws IOException {
        int colon = connect.lastIndexOf(':');
        if (colon < 0 || !connect.substring(colon + 1).matches("[0-9]{1,5}")) {
            throw new IllegalArgumentException("--connect needs HOST:PORT, not " + connect);
        }
        return new InetSocketAddress(InetAddress.getByName(connect.substring(0, colon)),
                Integer.parseInt(connect.substring(colon + 1)));
    }

    /** The server's --handoff: its directory must exist (the successor creates the socket in it). */
    static void requireDirectory(Path handoff) {
        if (!Files.isDirectory(handoff.toAbsolutePath().getParent())) {
            throw new IllegalArgumentException("the directory of --handoff " + handoff + " does not exist: create"
                    + " it, owned by this user with mode 0700");
        }
    }

    /** A client: once the first echo is verified, says STREAMING, and streams on until its input says "stop". */
    static void streamUntilStopped(Events events, Callable<Long> verified) throws Exception {
        while (verified.call() == 0) {
            Thread.sleep(5);
        }
        events.emit("STREAMING", "");
        waitForEndOfInput();
    }

    /**
     * A client's outcome: "RESULT sent verified longest-gap-ms error-or-dash", or as JSON; the exit status, 0 where it
     * saw no error.
     */
    static int result(Events events, long sent, long verified, long longestGapMillis, String error) {
        events.emit("RESULT", sent + " " + verified + " " + longestGapMillis + " " + (error == null ? "-" : error),
                "bytesSent", sent, "bytesVerified", verified, "downtimeMs", longestGapMillis, "error", error);
        return error == null ? 0 : 1;
    }

    /** Collects every line into {@code progress}, and without --json shows the PROGRESS ones on {@code out}. */
    static Consumer<String> show(List<String> progress, boolean json, PrintWriter out) {
        return l -> {
            progress.add(l);
            if (!json && l.startsWith("PROGRESS")) {
                out.println("  " + l.substring("PROGRESS ".length()));
                out.flush();
            }
        };
    }

    /**
     * Tells each client to stop and reads its "RESULT sent verified longest-gap-ms error-or-dash" line: one report
     * per client, numbered from 1, with a null error where it saw none.
     */
    static List<Map<String, Object>> stopClients(List<Child> clients) throws IOException, InterruptedException {
        List<Map<String, Object>> results = new ArrayList<>();
        for (int i = 0; i < clients.size(); i++) {
            clients.get(i).send("stop");
            String[] r = clients.get(i).await("RESULT", 30, l -> { }).split(" ", 5);
            Map<String, Object> c = new LinkedHashMap<>();
            c.put("client", i + 1);
            c.put("bytesSent", Long.parseLong(r[1]));
            c.put("bytesVerified", Long.parseLong(r[2]));
            c.put("downtimeMs", Long.parseLong(r[3]));
            c.put("error", r[4].equals("-") ? null : r[4]);
            results.add(c);
        }
        return results;
    }

    /** Whether no client saw a wrong byte, a reset or an end of stream. */
    static boolean noClientFailed(List<Map<String, Object>> results) {
        return results.stream().allMatch(c -> c.get("error") == null);
    }

    /** The story's line for each client: its downtime and what it verified. */
    static void tellClients(StringBuilder s, List<Map<String, Object>> results) {
        for (Map<String, Object> c : results) {
            s.append(String.format(Locale.ROOT, "  client %s: downtime %d ms, %d bytes echoed and verified%s%n",
                    c.get("client"), (Long) c.get("downtimeMs"), (Long) c.get("bytesVerified"),
                    c.get("error") == null ? ", no byte lost, duplicated or reordered, no reset"
                            : ", FAILED: " + c.get("error")));
        }
    }

    /** Stops the demo's pieces, the last started first (a repair helper, started first, serves the others). */
    static void closeAll(List<Child> children) throws InterruptedException {
        for (Child c : children.reversed()) {
            c.close();
        }
    }
}
