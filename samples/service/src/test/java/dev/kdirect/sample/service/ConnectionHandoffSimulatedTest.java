package dev.kdirect.sample.service;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.kdirect.testing.ForceSimulatedKernel;
import dev.kdirect.tcprepair.TcpRepair;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import org.junit.jupiter.api.Test;

/**
 * Where TCP repair is simulated the service learns it before touching a connection: the simulated kernel cannot
 * see a JDK channel's socket, so the hand-over is refused and the connection stays as it was.
 */
@ForceSimulatedKernel
class ConnectionHandoffSimulatedTest {

    @Test
    void theHandOverIsRefusedAndTheConnectionKeepsWorking() throws Exception {
        TcpRepair repair = TcpRepair.system();
        assertFalse(repair.isReal());
        try (ServerSocketChannel server = ServerSocketChannel.open()
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             SocketChannel client = SocketChannel.open(server.getLocalAddress());
             SocketChannel accepted = server.accept()) {
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                    () -> new ConnectionHandoff(repair).release(accepted));
            assertTrue(e.getMessage().contains("descriptor API"), e.getMessage());
            assertTrue(accepted.isConnected() && accepted.isOpen());
        }
    }
}
