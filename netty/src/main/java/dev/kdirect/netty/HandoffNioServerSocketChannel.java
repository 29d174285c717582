package dev.kdirect.netty;

import io.netty.channel.socket.nio.NioServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.List;

/**
 * A NIO server channel whose accepted connections are {@link HandoffNioSocketChannel}s, which {@link NettyHandoff}
 * can hand off: use it as the server's channel class ({@code ServerBootstrap.channel(HandoffNioServerSocketChannel.class)}).
 * Netty's own {@code NioSocketChannel} keeps its JDK socket to itself, so kdirect refuses to move one.
 */
public class HandoffNioServerSocketChannel extends NioServerSocketChannel {
    /** A server channel on the default selector provider, as Netty's. */
    public HandoffNioServerSocketChannel() {
    }

    @Override
    protected int doReadMessages(List<Object> buf) throws Exception {
        SocketChannel accepted = javaChannel().accept();
        if (accepted == null) {
            return 0;
        }
        try {
            buf.add(new HandoffNioSocketChannel(this, accepted));
            return 1;
        } catch (RuntimeException e) {
            accepted.close();
            throw e;
        }
    }
}
