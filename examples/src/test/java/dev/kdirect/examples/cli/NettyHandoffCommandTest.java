package dev.kdirect.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Feature;
import dev.kdirect.testing.RequiresRealKernel;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code kdirect netty-handoff demo}: a Netty line echo server hands its channels to its successor while two Netty
 * clients, separate JVMs, stream numbered lines; on NIO and on native epoll every channel moves and every client
 * verified every echoed line, with its downtime reported.
 */
class NettyHandoffCommandTest {

    @ParameterizedTest
    @ValueSource(strings = {"nio", "epoll"})
    @RequiresRealKernel(Feature.TCP_REPAIR)
    @Tag("host-only") // five JVMs per run; the guest's tcprepair tests cover these kernel paths there
    @Timeout(300)
    void theDemoHandsEveryChannelOverWhileTheNettyClientsStream(String transport) {
        CliRun r = CliRun.of("netty-handoff", "demo", "--transport", transport, "--clients", "2", "--json");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("\"transport\": \"" + transport + "\"", "\"moved\": 2", "\"successorTook\": 2",
                "\"ok\": true", "\"handoffFailure\": null");
        TcpHandoffCommandTest.assertEveryClientVerified(r.out(), 2);
    }

    @Test
    void aTransportOtherThanNioOrEpollIsAUsageError() {
        CliRun r = CliRun.of("netty-handoff", "demo", "--transport", "kqueue", "--json");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--transport is nio or epoll, not kqueue");
    }
}
