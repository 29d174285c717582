package dev.kdirect.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Feature;
import dev.kdirect.testing.RequiresRealKernel;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code kdirect tcp-handoff demo}: server, two clients and the successor as separate JVMs on loopback; every
 * connection moves, each client verified its whole echo stream with no error, and its downtime is reported; bad
 * arguments are refused with a message. With --unprivileged, server, successor and the five clients run as uid
 * 65534 with no capability (their own CapEff lines and /proc's), the repair helper is the one privileged process and
 * holds the server's lock, and every client verified its stream. The demo runs on the host only (tag host-only, which
 * ci/guest-tests excludes and lists).
 */
class TcpHandoffCommandTest {

    @Test
    @RequiresRealKernel(Feature.TCP_REPAIR)
    @Tag("host-only") // four JVMs take ~3 min under the guest's TCG; MigrationTest covers these kernel paths there
    @Timeout(300)
    void theDemoHandsEveryConnectionOverWhileTheClientsStream() {
        CliRun r = CliRun.of("tcp-handoff", "demo", "--clients", "2", "--json");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("\"moved\": 2", "\"successorTook\": 2", "\"ok\": true",
                "\"handoffFailure\": null");
        assertEveryClientVerified(r.out(), 2);
    }

    /**
     * The --json report lists {@code count} clients, each verified some echoed bytes, with its downtime (a number of
     * milliseconds; how long is for the benchmarks, not a bound here: a loaded machine stretches it), none with an
     * error.
     */
    static void assertEveryClientVerified(String json, int count) {
        Matcher client = Pattern.compile("\"bytesVerified\": (\\d+),\\s*\"downtimeMs\": \\d+,\\s*\"error\": null")
                .matcher(json);
        int clients = 0;
        while (client.find()) {
            clients++;
            assertThat(Long.parseLong(client.group(1))).as("bytes verified").isPositive();
        }
        assertThat(clients).as(json).isEqualTo(count);
    }

    @Test
    @RequiresRealKernel(Feature.TCP_REPAIR)
    @Tag("host-only") // eight JVMs; RepairHelperTest covers the helper's kernel paths in the guest
    @Timeout(300)
    void unprivilegedServicesHandEveryConnectionOverThroughTheRepairHelper() {
        CliRun r = CliRun.of("tcp-handoff", "demo", "--unprivileged", "--clients", "5");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        String none = "uid 65534, capEff 0000000000000000";
        assertThat(r.out()).contains("server: handed 5 of 5 connections", "successor: took 5 connections",
                "server says: " + none, "successor says: " + none, "server (/proc): " + none,
                "successor (/proc): " + none, "result: every connection moved");
        for (int i = 1; i <= 5; i++) {
            assertThat(r.out()).contains("client " + i + " (/proc): " + none)
                    .containsPattern("client " + i + ": downtime \\d+ ms, [1-9]\\d* bytes echoed and verified, no byte"
                            + " lost, duplicated or reordered, no reset");
        }
        Matcher helper = Pattern.compile("repair helper \\(/proc\\): uid 0, capEff ([0-9a-f]{16})").matcher(r.out());
        assertThat(helper.find()).as(r.out()).isTrue();
        assertThat(Long.parseUnsignedLong(helper.group(1), 16) & (1L << 12)).as("CAP_NET_ADMIN").isNotZero();
        assertThat(r.out()).containsPattern("\"event\": \"locked\", \"pid\": \\d+, \"uid\": 65534, .*, 5 connections\\)")
                .contains("\"event\": \"unlocked\"");
    }

    @Test
    void aBadClientCountIsRefusedWithAMessage() {
        CliRun r = CliRun.of("tcp-handoff", "demo", "--clients", "0");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--clients must be 1 to 1000, not 0");
    }
}
