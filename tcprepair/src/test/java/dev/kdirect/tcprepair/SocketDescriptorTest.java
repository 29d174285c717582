package dev.kdirect.tcprepair;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import dev.kdirect.SocketConstants;
import dev.kdirect.testing.RequiresRealKernel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Timeout;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Both routes to a channel's descriptor (the JDK's, which the build exports to the tests as the launcher does, and
 * /proc) name the same descriptor, for IPv4 and IPv6 connections and for new unconnected channels, also while other
 * threads open and close sockets through 600 detach and restore cycles.
 */
class SocketDescriptorTest {
    private final Kernel kernel = Kernels.real();

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
                int fromProc = SocketDescriptor.fromProc(kernel, (InetSocketAddress) end.getLocalAddress(),
                        (InetSocketAddress) end.getRemoteAddress());
                assertThat(SocketDescriptor.of(kernel, end)).isEqualTo(fromProc);
            }
            assertThat(SocketDescriptor.of(kernel, client)).isNotEqualTo(SocketDescriptor.of(kernel, accepted));
        }
    }

    @Test
    void aNewChannelsDescriptorIsTheSameByEitherRoute() throws IOException {
        SocketDescriptor.Opened viaJdk = SocketDescriptor.openChannel(kernel);
        SocketDescriptor.Opened viaProc = SocketDescriptor.openChannelThroughProc(kernel);
        try (SocketChannel a = viaJdk.channel(); SocketChannel b = viaProc.channel()) {
            assertThat(viaJdk.fd()).isNotEqualTo(viaProc.fd());
            assertThat(viaProc.fd()).isEqualTo(SocketDescriptor.fromJdk(b));
            // each descriptor is its own channel's: closing one channel frees exactly that number
            a.close();
            SocketDescriptor.Opened reused = SocketDescriptor.openChannelThroughProc(kernel);
            try (SocketChannel c = reused.channel()) {
                assertThat(reused.fd()).isEqualTo(viaJdk.fd());
            }
        }
    }

    /**
     * The measurement: without the JDK's descriptors, 600 detach and restore cycles while other threads open
     * and close sockets as fast as they can (descriptor numbers freed and taken again all along): every cycle finds
     * the descriptor the JDK knows, by both /proc routes, and the connection carries a byte each way after it.
     */
    @Test
    @RequiresRealKernel(Feature.TCP_REPAIR)
    @Tag("host-only") // the reference is the JDK's descriptor, which the guest's launcher does not export; there
    // every channel test (RestoreTest, MigrationTest, ...) runs on the /proc routes
    @Timeout(600) // seconds on the host; the guest's TCG is many times slower
    void sixHundredDetachRestoreCyclesThroughProcNeverFailNorPickAnotherSocket() throws Exception {
        TcpRepair repair = TcpRepair.on(kernel).withoutJdkDescriptors();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong churned = new AtomicLong();
        List<Thread> churn = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            churn.add(Thread.ofPlatform().start(() -> {
                while (!stop.get()) {
                    try (SocketChannel s = SocketChannel.open()) {
                        churned.incrementAndGet();
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                    Thread.yield(); // churn beside the cycles, not instead of them (CI hosts have 2 cores)
                }
            }));
        }
        int wrong = 0;
        try (LoopbackConnection c = new LoopbackConnection("127.0.0.1", "")) {
            SocketChannel current = c.server;
            c.peer.setOption(java.net.StandardSocketOptions.TCP_NODELAY, true);
            c.server.setOption(java.net.StandardSocketOptions.TCP_NODELAY, true); // restored with it
            for (int cycle = 0; cycle < 600; cycle++) {
                wrong += SocketDescriptor.ofThroughProc(kernel, current) == SocketDescriptor.fromJdk(current) ? 0 : 1;
                SocketDescriptor.Opened opened = SocketDescriptor.openChannelThroughProc(kernel);
                try (SocketChannel probe = opened.channel()) {
                    wrong += opened.fd() == SocketDescriptor.fromJdk(probe) ? 0 : 1;
                }
                // no lock here: nothing of the peer's may be in flight while no socket holds the 4-tuple (a
                // delayed ACK arriving then would draw a reset): the peer's reply acknowledged the server's bytes
                SocketChannel server = current;
                Await.until("the peer acknowledged everything", () -> kernel.ioctlInt(
                        SocketDescriptor.fromJdk(server), SocketConstants.SIOCOUTQ) == 0);
                ConnectionState state = repair.detach(current);
                current = repair.restore(state);
                assertThat(current.getLocalAddress()).isEqualTo(state.local());
                current.write(ByteBuffer.wrap(new byte[] {(byte) ~cycle}));
                assertThat(LoopbackConnection.read(c.peer, 1)[0]).isEqualTo((byte) ~cycle);
                c.peer.write(ByteBuffer.wrap(new byte[] {(byte) cycle})); // carries the ACK at once
                assertThat(LoopbackConnection.read(current, 1)[0]).isEqualTo((byte) cycle);
            }
            current.close();
        } finally {
            stop.set(true);
            for (Thread t : churn) {
                t.join();
            }
        }
        assertThat(wrong).as("descriptors the /proc routes got wrong").isZero();
        assertThat(churned.get()).as("sockets the other threads opened and closed meanwhile").isGreaterThan(600);
    }

    @Test
    void anUnconnectedChannelIsRefusedWithAClearMessage() throws IOException {
        try (SocketChannel unconnected = SocketChannel.open()) {
            assertThatThrownBy(() -> SocketDescriptor.of(kernel, unconnected))
                    .isInstanceOf(IOException.class).hasMessageContaining("not connected");
        }
    }
}
