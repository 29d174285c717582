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
 * arguments are refused with a message. The demo runs on the host only (tag host-only, which ci/guest-tests
 * excludes and lists).
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
        Matcher client = Pattern.compile("\"bytesVerified\": (\\d+),\\s*\"downtimeMs\": (\\d+),\\s*\"error\": null")
                .matcher(r.out());
        int clients = 0;
        while (client.find()) {
            clients++;
            assertThat(Long.parseLong(client.group(1))).as("bytes verified").isPositive();
            assertThat(Long.parseLong(client.group(2))).as("downtime ms").isLessThan(10_000);
        }
        assertThat(clients).as(r.out()).isEqualTo(2);
    }

    @Test
    void aBadClientCountIsRefusedWithAMessage() {
        CliRun r = CliRun.of("tcp-handoff", "demo", "--clients", "0");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--clients must be 1 to 1000, not 0");
    }
}
