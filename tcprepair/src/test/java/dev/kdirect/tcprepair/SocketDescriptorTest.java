package dev.kdirect.tcprepair;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Both routes to a channel's descriptor (the JDK's, which the build exports to the tests as the launcher does, and
 * /proc) name the same descriptor, for IPv4 and IPv6 connections and for new unconnected channels.
 */
class SocketDescriptorTest {
    @Test
    void theTestsRunWithTheJdkRouteOpenAsTheLauncherDoes() {
        assertThat(SocketDescriptor.jdkFastPath()).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "::1"})
    void theJdkAndProcRoutesFindTheSameDescriptor(String host) throws IOException {
        try (ServerSocketChannel server = ServerSocketChannel.open()
                .bind(new InetSocketAddress(InetAddress.getByName(host), 0));
                SocketChannel client = SocketChannel.open(server.getLocalAddress());
                SocketChannel accepted = server.accept()) {
            for (SocketChannel end : new SocketChannel[] {client, accepted}) {
                int fromProc = SocketDescriptor.fromProc((InetSocketAddress) end.getLocalAddress(),
                        (InetSocketAddress) end.getRemoteAddress());
                assertThat(SocketDescriptor.of(end)).isEqualTo(fromProc);
            }
            assertThat(SocketDescriptor.of(client)).isNotEqualTo(SocketDescriptor.of(accepted));
        }
    }

    @Test
    void aNewChannelsDescriptorIsTheSameByEitherRoute() throws IOException {
        SocketDescriptor.Opened viaJdk = SocketDescriptor.openChannel();
        SocketDescriptor.Opened viaProc = SocketDescriptor.openChannelThroughProc();
        try (SocketChannel a = viaJdk.channel(); SocketChannel b = viaProc.channel()) {
            assertThat(viaJdk.fd()).isNotEqualTo(viaProc.fd());
            // each descriptor is its own channel's: closing one channel frees exactly that number
            a.close();
            SocketDescriptor.Opened reused = SocketDescriptor.openChannelThroughProc();
            try (SocketChannel c = reused.channel()) {
                assertThat(reused.fd()).isEqualTo(viaJdk.fd());
            }
        }
    }

    @Test
    void anUnconnectedChannelIsRefusedWithAClearMessage() throws IOException {
        try (SocketChannel unconnected = SocketChannel.open()) {
            assertThatThrownBy(() -> SocketDescriptor.of(unconnected))
                    .isInstanceOf(IOException.class).hasMessageContaining("not connected");
        }
    }
}
