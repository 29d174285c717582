package dev.kdirect.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Feature;
import dev.kdirect.Kernels;
import dev.kdirect.SocketConstants;
import dev.kdirect.testing.RequiresRealKernel;
import dev.kdirect.tcprepair.RepairHelperClient;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code kdirect repair-helper}: its help names the protocol and the capability; it serves a client and logs what
 * it did as JSON lines until stopped, then removes its socket; a path in a missing directory is refused with a
 * message.
 */
class RepairHelperCommandTest {
    @TempDir
    Path dir;

    @Test
    void helpDescribesTheProtocolAndTheCapability() {
        CliRun r = CliRun.of("repair-helper", "--help");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("passt-repair", "SO_PEERCRED", "CAP_NET_ADMIN", "--allow-uid", "--json");
    }

    @Test
    @RequiresRealKernel(Feature.TCP_REPAIR) // CAP_NET_ADMIN is checked first
    void aPathInAMissingDirectoryIsRefusedWithAMessage() {
        CliRun r = CliRun.of("repair-helper", "--socket", dir.resolve("missing/helper.sock").toString());
        assertThat(r.exit()).as(r.err()).isEqualTo(3);
        assertThat(r.err()).contains("missing", "does not exist").doesNotContain("Exception");
    }

    @Test
    @RequiresRealKernel(Feature.TCP_REPAIR)
    @Timeout(60)
    void itServesAClientAndLogsJsonLinesUntilStopped() throws Exception {
        Path socket = dir.resolve("helper.sock");
        StringWriter out = new StringWriter();
        AtomicInteger exit = new AtomicInteger(-1);
        Thread command = Thread.ofPlatform().start(() -> exit.set(new CommandLine(new Main())
                .setOut(new PrintWriter(out, true)).setExecutionExceptionHandler(new FriendlyErrors(true))
                .execute("repair-helper", "--socket", socket.toString(), "--allow-uid", "1234", "--json")));
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        while (!Files.exists(socket) || !out.toString().contains("\"event\": \"listening\"")) {
            assertThat(Instant.now()).as("the helper listens").isBefore(deadline);
            Thread.onSpinWait();
        }
        int tcp = Kernels.real().socket(SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0);
        try (RepairHelperClient client = RepairHelperClient.connect(socket)) {
            client.setRepair(SocketConstants.TCP_REPAIR_ON, tcp);
            client.setRepair(SocketConstants.TCP_REPAIR_OFF, tcp);
        } finally {
            Kernels.real().close(tcp);
        }
        command.interrupt();
        command.join();
        assertThat(exit.get()).as(out.toString()).isZero();
        assertThat(out.toString()).contains("allowed uids [0, 1234]", "\"event\": \"accepted\"",
                "\"detail\": \"TCP_REPAIR on on [unconnected /0.0.0.0:0]\"", "\"event\": \"stopped\"");
        assertThat(socket).doesNotExist();
    }
}
