package dev.kdirect.sample.service;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kdirect.Feature;
import dev.kdirect.testing.RequiresRealKernel;
import dev.kdirect.tcprepair.TcpRepair;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A loopback connection handed over by checkpoint and restore, on the real kernel's TCP_REPAIR. */
class ConnectionHandoffTest {

    @Test
    @RequiresRealKernel(Feature.TCP_REPAIR)
    @Timeout(value = 60, unit = TimeUnit.SECONDS) // the deadline of the blocking reads
    void theClientTalksToTheRestoredConnectionAsIfNothingHappened() throws IOException {
        ConnectionHandoff handoff = new ConnectionHandoff(TcpRepair.system());
        try (ServerSocketChannel server = ServerSocketChannel.open()
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
             SocketChannel client = SocketChannel.open(server.getLocalAddress())) {
            SocketChannel accepted = server.accept();
            send(client, "sent before");
            byte[] image = handoff.release(accepted);
            try (SocketChannel restored = handoff.takeOver(image)) {
                assertEquals("sent before", receive(restored, "sent before".length()));
                send(client, "and after");
                assertEquals("and after", receive(restored, "and after".length()));
                send(restored, "reply");
                assertEquals("reply", receive(client, "reply".length()));
            }
        }
    }

    private static void send(SocketChannel channel, String text) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    private static String receive(SocketChannel channel, int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        while (b.hasRemaining()) {
            if (channel.read(b) < 0) {
                throw new EOFException("closed after " + b.position() + " of " + length + " bytes");
            }
        }
        return new String(b.array(), StandardCharsets.US_ASCII);
    }
}
