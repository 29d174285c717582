package dev.kdirect.tcprepair;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kdirect.Binding;
import dev.kdirect.Credentials;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import dev.kdirect.contract.Sockets;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

/**
 * Which kernel TcpRepair runs on: {@link TcpRepair#system()} is real exactly when {@code Feature.TCP_REPAIR} is
 * available and the binding is not forced to simulated; on the simulated kernel, whose sockets are its own, a JDK
 * channel (a real socket) is refused with the descriptor API to use instead, while that API works.
 */
class TcpRepairKernelTest {
    @Test
    void theSystemTcpRepairIsRealExactlyWhenTheFeatureIsAvailableAndTheBindingIsReal() {
        TcpRepair system = TcpRepair.system();
        assertThat(system.isReal()).isEqualTo(Feature.TCP_REPAIR.isAvailable() && Binding.configured().isReal());
        assertThat(system.kernel().binding().isReal()).isEqualTo(system.isReal());
    }

    @Test
    void jdkChannelsOnTheSimulatedKernelAreRefusedNamingTheDescriptorApi() throws Exception {
        Kernel kernel = Kernels.newSimulated(Credentials.ofCurrentProcess(), List.of());
        TcpRepair simulated = TcpRepair.on(kernel);
        assertThat(simulated.isReal()).isFalse();
        ConnectionState state;
        try (Sockets s = new Sockets(kernel)) {
            state = simulated.checkpoint(s.pair("127.0.0.1").client()); // the descriptor API works on the model
        }
        try (ServerSocketChannel server = ServerSocketChannel.open()
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                SocketChannel client = SocketChannel.open(server.getLocalAddress());
                SocketChannel accepted = server.accept()) {
            for (ThrowingCallable call : List.<ThrowingCallable>of(() -> simulated.checkpoint(client),
                    () -> simulated.detach(client), () -> simulated.freeze(client), () -> simulated.restore(state),
                    () -> simulated.restoreFrozen(state))) {
                assertThatThrownBy(call).isInstanceOf(UnsupportedOperationException.class)
                        .hasMessageContaining("simulated kernel")
                        .hasMessageContaining("descriptor API (checkpoint(int), freeze(int), detach(int),"
                                + " restoreDescriptor(ConnectionState))");
            }
            assertThat(client.isOpen()).isTrue(); // nothing was done to it
        }
    }
}
