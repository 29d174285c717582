package dev.kdirect.netty;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * The first handler of a channel kdirect puts (back) in service, ahead of what the {@code ChannelInitializer} adds:
 * on {@code channelActive} (or {@link #begin} for a channel that was registered before) it restores the application's
 * state, writes the carried outbound bytes straight to the socket (its context is the first, so no encoder sees
 * them), lets {@code channelActive} through, fires the carried inbound bytes, and leaves the pipeline. All of it
 * happens in one event loop task, so no byte read from the socket and no write of the application's comes first.
 */
final class Arrival extends ChannelInboundHandlerAdapter {
    private final Carried carried;
    private final ChannelStateCodec codec;
    /** The autoRead to set once done (a channel kdirect stopped before), or null: as the initializer left it. */
    private final Boolean autoRead;
    private boolean begun;

    Arrival(Carried carried, ChannelStateCodec codec, Boolean autoRead) {
        this.carried = carried;
        this.codec = codec;
        this.autoRead = autoRead;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        begin(ctx);
    }

    /** Runs once, on the channel's event loop. */
    void begin(ChannelHandlerContext ctx) {
        if (begun) {
            return;
        }
        begun = true;
        try {
            codec.restore(ctx.channel(), carried.state());
        } catch (Exception e) {
            ctx.pipeline().remove(this);
            ctx.fireExceptionCaught(new IllegalStateException("kdirect-netty: restoring the connection's application"
                    + " state failed (ChannelStateCodec.restore); closing it, its state is lost", e));
            ctx.channel().close();
            return;
        }
        if (carried.outbound().length > 0) {
            ctx.writeAndFlush(Unpooled.wrappedBuffer(carried.outbound()));
        }
        ctx.fireChannelActive();
        if (carried.inbound().length > 0) {
            ctx.fireChannelRead(Unpooled.wrappedBuffer(carried.inbound()));
            ctx.fireChannelReadComplete();
        }
        ctx.pipeline().remove(this);
        if (autoRead != null) {
            ctx.channel().config().setAutoRead(autoRead);
        }
    }
}
