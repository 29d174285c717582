package dev.kdirect.tcprepair;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A migration target in its own JVM (run with a small heap) for {@link MigrationHostileTest}: it accepts one session
 * after another on the socket, with the default limits and a session deadline of {@code args[1]} ms, and after each
 * prints {@code SESSION sockets locks outcome}: the sockets this process holds (its listening one included), its lock
 * tables, and what the session came to. Argument: the socket path. Prints STARTED, reads the deadline in ms from
 * its standard input (the test sizes it from how long this JVM took to start), then prints LISTENING sockets.
 */
public final class HostileTarget {
    private HostileTarget() {
    }

    public static void main(String[] args) throws Exception {
        System.out.println("STARTED");
        long deadline = Long.parseLong(new java.io.BufferedReader(new java.io.InputStreamReader(System.in,
                java.nio.charset.StandardCharsets.UTF_8)).readLine().trim());
        try (MigrationTarget target = MigrationTarget.listen(Path.of(args[0]))
                .timeout(Duration.ofMillis(deadline))) {
            System.out.println("LISTENING " + sockets());
            while (true) {
                String outcome;
                try {
                    outcome = "restored " + target.accept().size();
                } catch (IOException e) {
                    outcome = e.getMessage();
                }
                String own = NetworkLock.processPrefix();
                long locks = NetworkLock.tables().stream().filter(t -> t.startsWith(own)).count();
                System.out.println("SESSION " + sockets() + " " + locks + " " + outcome);
            }
        }
    }

    /** The sockets among this process's descriptors. */
    static long sockets() throws IOException {
        try (var fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString().startsWith("socket:");
                } catch (IOException closedMeanwhile) {
                    return false;
                }
            }).count();
        }
    }
}
