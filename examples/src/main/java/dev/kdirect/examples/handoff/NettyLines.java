package dev.kdirect.examples.handoff;

import dev.kdirect.netty.ChannelStateCodec;
import dev.kdirect.netty.HandoffNioServerSocketChannel;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.util.AttributeKey;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The netty-handoff example's line protocol: a Netty echo server of newline-terminated lines (a LineBasedFrameDecoder,
 * whose cumulation holds a partial line) that counts the lines it echoed per connection (the state its codec carries),
 * and a Netty client streaming numbered lines it checks as they come back, measuring the longest gap.
 */
public final class NettyLines {
    /** The event loop transport. */
    public enum Transport {
        NIO, EPOLL;

        public EventLoopGroup group(int threads) {
            if (this == EPOLL) {
                Epoll.ensureAvailability();
                return new MultiThreadIoEventLoopGroup(threads, EpollIoHandler.newFactory());
            }
            return new MultiThreadIoEventLoopGroup(threads, NioIoHandler.newFactory());
        }

        /** The server's channel class: kdirect's NIO one (its sockets can be handed off), or Netty's epoll one. */
        public Class<? extends ServerChannel> serverChannel() {
            return this == EPOLL ? EpollServerSocketChannel.class : HandoffNioServerSocketChannel.class;
        }

        /** SO_REUSEPORT on the listener: predecessor and successor share the port. */
        public ChannelOption<Boolean> reusePort() {
            return this == EPOLL ? EpollChannelOption.SO_REUSEPORT
                    : NioChannelOption.of(StandardSocketOptions.SO_REUSEPORT);
        }

        Class<? extends Channel> clientChannel() {
            return this == EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
        }
    }

    public static final AttributeKey<AtomicLong> LINES = AttributeKey.valueOf("kdirect.example.lines");
    private static final int MAX_LINE = 4096;

    /** The lines echoed on a connection, 8 bytes. */
    public static final ChannelStateCodec LINE_COUNT = new ChannelStateCodec() {
        @Override
        public byte[] save(Channel channel) {
            return ByteBuffer.allocate(8).putLong(channel.attr(LINES).get().get()).array();
        }

        @Override
        public void restore(Channel channel, byte[] state) {
            if (state.length != 8) {
                throw new IllegalArgumentException("a line count is 8 bytes, not " + state.length);
            }
            channel.attr(LINES).get().set(ByteBuffer.wrap(state).getLong());
        }
    };

    /** The echo server's pipeline; every live channel is in {@link #live}. */
    @ChannelHandler.Sharable
    public static final class EchoServer extends ChannelInitializer<Channel> {
        public final Set<Channel> live = ConcurrentHashMap.newKeySet();

        @Override
        protected void initChannel(Channel ch) {
            ch.attr(LINES).setIfAbsent(new AtomicLong());
            live.add(ch);
            ch.closeFuture().addListener(f -> live.remove(ch));
            ch.pipeline().addLast("lines", new LineBasedFrameDecoder(MAX_LINE, false, true));
            ch.pipeline().addLast("echo", new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ctx.channel().attr(LINES).get().incrementAndGet();
                    ctx.write(msg);
                }

                @Override
                public void channelReadComplete(ChannelHandlerContext ctx) {
                    ctx.flush();
                }
            });
        }
    }

    /** Line {@code n} of client {@code id}: its number and a payload derived from both, 60 to 123 bytes. */
    static byte[] line(int id, long n) {
        StringBuilder s = new StringBuilder(128).append(id).append(' ').append(n).append(' ');
        long x = n * 0x9E3779B97F4A7C15L + id;
        for (int i = 0, len = 40 + (int) (n % 64); i < len; i++) {
            s.append((char) ('a' + (int) ((x >>> (i % 50)) & 15) + i % 10));
        }
        return s.append('\n').toString().getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * A Netty client streaming numbered lines (at most 256 unanswered) and checking each echoed line; the longest
     * gap between two echoed lines is its downtime.
     */
    public static final class Client {
        private static final int IN_FLIGHT = 256;
        private final int id;
        private final EventLoopGroup group;
        private final Channel channel;
        private long sent;
        private long sentBytes;
        private long verified;
        private long verifiedBytes;
        /** When the last line came back (the gaps count from the first one). */
        private long lastNanos;
        private long longestGapNanos;
        private volatile String error;
        private volatile boolean stopping;

        public Client(Transport transport, int id, InetSocketAddress server) throws InterruptedException {
            this.id = id;
            this.group = transport.group(1);
            this.channel = new Bootstrap().group(group).channel(transport.clientChannel())
                    .handler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.pipeline().addLast(new LineBasedFrameDecoder(MAX_LINE, false, true));
                            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                                @Override
                                public void channelActive(ChannelHandlerContext ctx) {
                                    pump(ctx.channel());
                                }

                                @Override
                                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                    check((ByteBuf) msg);
                                }

                                @Override
                                public void channelReadComplete(ChannelHandlerContext ctx) {
                                    pump(ctx.channel());
                                }

                                @Override
                                public void channelWritabilityChanged(ChannelHandlerContext ctx) {
                                    pump(ctx.channel());
                                }

                                @Override
                                public void channelInactive(ChannelHandlerContext ctx) {
                                    if (!stopping) {
                                        fail("the connection ended (end of stream or reset) after " + verified
                                                + " lines");
                                    }
                                }

                                @Override
                                public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                    fail("the connection failed: " + cause);
                                }
                            });
                        }
                    }).connect(server).sync().channel();
        }

        private void fail(String why) {
            if (error == null) {
                error = why;
            }
        }

        /** On the event loop: writes lines while fewer than IN_FLIGHT are unanswered. */
        private void pump(Channel ch) {
            boolean wrote = false;
            while (!stopping && error == null && sent - verified < IN_FLIGHT && ch.isWritable()) {
                byte[] l = line(id, sent++);
                sentBytes += l.length;
                ch.write(Unpooled.wrappedBuffer(l));
                wrote = true;
            }
            if (wrote) {
                ch.flush();
            }
        }

        private void check(ByteBuf echoed) {
            try {
                byte[] expected = line(id, verified);
                byte[] got = new byte[echoed.readableBytes()];
                echoed.readBytes(got);
                if (!java.util.Arrays.equals(expected, got)) {
                    fail("line " + verified + " came back as '" + new String(got, StandardCharsets.US_ASCII).strip()
                            + "', expected '" + new String(expected, StandardCharsets.US_ASCII).strip() + "'");
                    return;
                }
                long now = System.nanoTime();
                if (verified > 0) {
                    longestGapNanos = Math.max(longestGapNanos, now - lastNanos);
                }
                lastNanos = now;
                verified++;
                verifiedBytes += got.length;
            } finally {
                echoed.release();
            }
        }

        /** Lines verified so far. */
        public long verified() throws Exception {
            return channel.eventLoop().submit(() -> verified).get();
        }

        /** What the client saw: bytes sent and verified, the longest gap, the first error (or null). */
        public record Result(long sentBytes, long verifiedBytes, long longestGapMillis, String error) {
        }

        /** Stops streaming, waits for the lines in flight, closes. */
        public Result stop() throws Exception {
            channel.eventLoop().submit(() -> stopping = true).get();
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (error == null && channel.eventLoop().submit(() -> verified < sent).get()
                    && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            Result r = channel.eventLoop().submit(() -> new Result(sentBytes, verifiedBytes,
                    longestGapNanos / 1_000_000, error != null ? error : verified < sent
                            ? (sent - verified) + " lines never came back" : null)).get();
            channel.close().sync();
            group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
            return r;
        }
    }

    private NettyLines() {
    }
}
