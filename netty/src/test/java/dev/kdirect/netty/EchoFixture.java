package dev.kdirect.netty;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
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
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.FixedLengthFrameDecoder;
import io.netty.util.AttributeKey;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A Netty echo server of fixed 1000-byte frames (a FixedLengthFrameDecoder: a partial frame waits in its
 * cumulation) and blocking clients streaming a position-checked byte sequence. Each channel counts the raw bytes it
 * read and the frames it echoed; the frame count is the application state a {@link ChannelStateCodec} carries.
 */
final class EchoFixture {
    static final int FRAME = 1000;
    static final AttributeKey<AtomicLong> FRAMES = AttributeKey.valueOf("kdirect.test.frames");
    static final AttributeKey<AtomicLong> READ = AttributeKey.valueOf("kdirect.test.read");

    enum Transport {
        NIO, EPOLL;

        EventLoopGroup group(int threads) {
            if (this == EPOLL) {
                Epoll.ensureAvailability();
                return new MultiThreadIoEventLoopGroup(threads, EpollIoHandler.newFactory());
            }
            return new MultiThreadIoEventLoopGroup(threads, NioIoHandler.newFactory());
        }

        Class<? extends ServerChannel> serverChannel() {
            return this == EPOLL ? EpollServerSocketChannel.class : HandoffNioServerSocketChannel.class;
        }
    }

    /** The frame count, 8 bytes. */
    static final ChannelStateCodec FRAME_COUNT = new ChannelStateCodec() {
        @Override
        public byte[] save(Channel channel) {
            return ByteBuffer.allocate(8).putLong(channel.attr(FRAMES).get().get()).array();
        }

        @Override
        public void restore(Channel channel, byte[] state) {
            channel.attr(FRAMES).get().set(ByteBuffer.wrap(state).getLong());
        }
    };

    /** The pipeline: a raw byte counter, the frame decoder, the echo; every channel also lands in {@code live}. */
    @ChannelHandler.Sharable
    static final class Echo extends ChannelInitializer<Channel> {
        final Set<Channel> live = ConcurrentHashMap.newKeySet();

        @Override
        public void initChannel(Channel ch) {
            ch.attr(FRAMES).setIfAbsent(new AtomicLong());
            ch.attr(READ).setIfAbsent(new AtomicLong());
            live.add(ch);
            ch.closeFuture().addListener(f -> live.remove(ch));
            ch.pipeline().addLast("count", new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ctx.channel().attr(READ).get().addAndGet(((ByteBuf) msg).readableBytes());
                    ctx.fireChannelRead(msg);
                }
            });
            ch.pipeline().addLast("frames", new FixedLengthFrameDecoder(FRAME));
            ch.pipeline().addLast("echo", new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ctx.channel().attr(FRAMES).get().incrementAndGet();
                    ctx.write(msg);
                }

                @Override
                public void channelReadComplete(ChannelHandlerContext ctx) {
                    ctx.flush();
                }
            });
        }
    }

    static Channel serve(Transport transport, EventLoopGroup group, Echo echo) throws InterruptedException {
        return new ServerBootstrap().group(group).channel(transport.serverChannel())
                .childOption(ChannelOption.SO_SNDBUF, 4096) // small: Netty's outbound buffer fills
                .childHandler(echo)
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    }

    /** A blocking client streaming the sequence {@link #at} and checking every echoed byte. */
    static final class Client implements AutoCloseable {
        final int id;
        final SocketChannel socket;
        private long sent;
        private long received;
        private final ByteBuffer buffer = ByteBuffer.allocate(16 * 1024);

        Client(int id, InetSocketAddress server) throws IOException {
            this.id = id;
            socket = SocketChannel.open();
            socket.setOption(StandardSocketOptions.SO_RCVBUF, 4096); // small: the server's echoes back up
            socket.connect(server);
        }

        static byte at(int id, long position) {
            return (byte) (position * 131 + id * 7 + (position >>> 11));
        }

        void send(long n) throws IOException {
            for (long end = sent + n; sent < end; ) {
                buffer.clear();
                int chunk = (int) Math.min(buffer.capacity(), end - sent);
                for (int i = 0; i < chunk; i++) {
                    buffer.put(at(id, sent + i));
                }
                buffer.flip();
                while (buffer.hasRemaining()) {
                    sent += socket.write(buffer);
                }
            }
        }

        /** Reads {@code n} echoed bytes; a wrong byte, a reset or an end of stream fails with the position. */
        void receive(long n) throws IOException {
            for (long end = received + n; received < end; ) {
                buffer.clear().limit((int) Math.min(buffer.capacity(), end - received));
                int r = socket.read(buffer);
                if (r < 0) {
                    throw new EOFException("client " + id + ": end of stream at byte " + received);
                }
                for (int i = 0; i < r; i++) {
                    byte expected = at(id, received);
                    if (buffer.get(i) != expected) {
                        throw new AssertionError("client " + id + ": byte " + received + " is " + buffer.get(i)
                                + ", expected " + expected + " (lost, duplicated or reordered)");
                    }
                    received++;
                }
            }
        }

        long received() {
            return received;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    private EchoFixture() {
    }
}
