package dev.kdirect.sample.service;

import dev.kdirect.tcprepair.ConnectionImage;
import dev.kdirect.tcprepair.TcpRepair;
import java.io.IOException;
import java.nio.channels.SocketChannel;

/**
 * Hands a live TCP connection over without the peer noticing: the connection is checkpointed and closed in
 * repair mode (nothing sent to the peer), written as a checked image (what a successor process would receive),
 * and restored from that image. Needs the real kernel's TCP_REPAIR (CAP_NET_ADMIN).
 */
public final class ConnectionHandoff {
    private final TcpRepair repair;

    public ConnectionHandoff(TcpRepair repair) {
        this.repair = repair;
    }

    /** The image of the connection, which is closed here without the peer seeing a FIN or RST. */
    public byte[] release(SocketChannel channel) throws IOException {
        return ConnectionImage.write(repair.detach(channel));
    }

    /** The connection from {@link #release}, live again in this process; a damaged image is an InvalidImageException. */
    public SocketChannel takeOver(byte[] image) throws IOException {
        return repair.restore(ConnectionImage.read(image));
    }
}
