package dev.kdirect.netty;

import io.netty.channel.Channel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * A NIO socket channel that {@link NettyHandoff} can hand off: Netty's {@code NioSocketChannel} with its JDK socket
 * reachable by kdirect (and nobody else). Accepted by {@link HandoffNioServerSocketChannel}; a successor's restored
 * NIO connections are of this class too, so they can move again.
 */
public class HandoffNioSocketChannel extends NioSocketChannel {
    /** A connection accepted by {@code parent}. */
    public HandoffNioSocketChannel(Channel parent, SocketChannel socket) {
        super(parent, socket);
    }

    /** A connection that already exists (restored by a migration), with no parent. */
    public HandoffNioSocketChannel(SocketChannel socket) {
        super(socket);
    }

    /** The JDK channel under it: kdirect freezes, closes or thaws it. */
    final SocketChannel socket() {
        return javaChannel();
    }
}
