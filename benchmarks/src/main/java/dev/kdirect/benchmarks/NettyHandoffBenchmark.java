package dev.kdirect.benchmarks;

import dev.kdirect.Feature;
import dev.kdirect.netty.ChannelStateCodec;
import dev.kdirect.netty.HandoffNioServerSocketChannel;
import dev.kdirect.netty.NettyHandoff;
import dev.kdirect.tcprepair.MigrationMode;
import dev.kdirect.tcprepair.MigrationSource;
import dev.kdirect.tcprepair.MigrationTarget;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.FixedLengthFrameDecoder;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The handoff of {@code connections} live Netty channels of an echo server (FixedLengthFrameDecoder of 64 bytes)
 * to a successor event loop group in this JVM ({@link NettyHandoff}, same namespace, over a Unix domain socket), on
 * each transport, while every client (Netty, same transport, in this JVM) pings a 64-byte frame every 5 ms. One op
 * is {@code handOff} with the successor's {@code takeOver} beside it, until the successor registered every channel.
 * After each op the iteration's teardown waits until every client had two echoes after the handoff and prints the
 * lock's time and the p50/p99/max of the pause the clients saw (each client's longest gap between two echoes
 * around the handoff, its 5 ms pacing included). Needs root (CAP_NET_ADMIN, nft).
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 5)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED",
        "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED", "-Xmx2g"})
public class NettyHandoffBenchmark {
    private static final int FRAME = 64;
    private static final long PACE_NANOS = TimeUnit.MILLISECONDS.toNanos(5);

    /** Echoes every frame. */
    @ChannelHandler.Sharable
    static final class Echo extends ChannelInitializer<Channel> {
        final Set<Channel> live = ConcurrentHashMap.newKeySet();

        @Override
        protected void initChannel(Channel ch) {
            live.add(ch);
            ch.closeFuture().addListener(f -> live.remove(ch));
            ch.pipeline().addLast(new FixedLengthFrameDecoder(FRAME), new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                    ctx.writeAndFlush(msg);
                }
            });
        }
    }

    /** A client pinging a frame every 5 ms; records its echoes' times. */
    static final class Pinger extends ChannelInboundHandlerAdapter {
        volatile long last;
        volatile long longestGap;
        volatile long echoes;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[FRAME]));
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
            long now = System.nanoTime();
            if (last != 0) {
                longestGap = Math.max(longestGap, now - last);
            }
            last = now;
            echoes++;
            ctx.executor().schedule(() -> ctx.writeAndFlush(Unpooled.wrappedBuffer(new byte[FRAME])), PACE_NANOS,
                    TimeUnit.NANOSECONDS);
        }
    }

    @State(Scope.Thread)
    public static class Servers {
        @Param({"nio", "epoll"})
        public String transport;

        @Param({"1000"})
        public int connections;

        EventLoopGroup old;
        EventLoopGroup successor;
        EventLoopGroup clientGroup;
        Echo echo;
        Echo successorEcho;
        Channel server;
        Path directory;
        Path socket;
        MigrationTarget target;
        final List<Channel> clients = new ArrayList<>();
        final List<Pinger> pingers = new ArrayList<>();
        NettyHandoff.Report report;
        NettyHandoff.Arrived arrived;
        int round;

        EventLoopGroup group() {
            return new MultiThreadIoEventLoopGroup(2, transport.equals("epoll") ? EpollIoHandler.newFactory()
                    : NioIoHandler.newFactory());
        }

        @Setup(Level.Trial)
        public void start() throws Exception {
            Feature.TCP_REPAIR.ensureAvailable();
            old = group();
            successor = group();
            clientGroup = group();
            echo = new Echo();
            successorEcho = new Echo();
            server = new ServerBootstrap().group(old).channel(transport.equals("epoll")
                            ? EpollServerSocketChannel.class : HandoffNioServerSocketChannel.class)
                    .childHandler(echo).bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync()
                    .channel();
            directory = Files.createTempDirectory("kdirect-netty-bench");
        }

        @Setup(Level.Iteration)
        public void connect() throws Exception {
            List<ChannelFuture> connecting = new ArrayList<>();
            for (int i = 0; i < connections; i++) {
                Pinger p = new Pinger();
                pingers.add(p);
                connecting.add(new Bootstrap().group(clientGroup).channel(transport.equals("epoll")
                        ? EpollSocketChannel.class : NioSocketChannel.class).handler(p).connect(server.localAddress()));
            }
            for (ChannelFuture f : connecting) {
                clients.add(f.sync().channel());
            }
            while (echo.live.size() < connections || pingers.stream().anyMatch(p -> p.echoes == 0)) {
                LockSupport.parkNanos(1_000_000);
            }
            socket = directory.resolve("target-" + round++ + ".sock");
            target = MigrationTarget.listen(socket);
            for (Pinger p : pingers) {
                p.longestGap = 0;
            }
        }

        @TearDown(Level.Iteration)
        public void measureAndClose() throws Exception {
            long[] echoesAtEnd = pingers.stream().mapToLong(p -> p.echoes).toArray();
            for (int i = 0; i < pingers.size(); i++) {
                while (pingers.get(i).echoes < echoesAtEnd[i] + 2) {
                    LockSupport.parkNanos(1_000_000);
                }
            }
            long[] gaps = pingers.stream().mapToLong(p -> p.longestGap).sorted().toArray();
            System.out.printf("%n  %s: moved %d, locked %d ms, client pause p50 %d ms, p99 %d ms, max %d ms%n",
                    transport, report.count(NettyHandoff.Status.MOVED), report.lockedNanos() / 1_000_000,
                    gaps[gaps.length / 2] / 1_000_000, gaps[(int) (gaps.length * 0.99)] / 1_000_000,
                    gaps[gaps.length - 1] / 1_000_000);
            for (Channel c : clients) {
                c.close().sync();
            }
            while (!successorEcho.live.isEmpty()) {
                LockSupport.parkNanos(1_000_000);
            }
            clients.clear();
            pingers.clear();
            target.close();
            if (report.count(NettyHandoff.Status.MOVED) != connections || report.failure() != null
                    || arrived.channels().size() != connections) {
                throw new IllegalStateException("moved " + report.count(NettyHandoff.Status.MOVED) + " of "
                        + connections + ", the successor took " + arrived.channels().size() + ": "
                        + report.failure() + " " + arrived.failures());
            }
            if (Arrays.stream(gaps).anyMatch(g -> g == 0)) {
                throw new IllegalStateException("a client saw no echo around the handoff");
            }
        }

        @TearDown(Level.Trial)
        public void stop() throws Exception {
            server.close().sync();
            for (EventLoopGroup g : List.of(old, successor, clientGroup)) {
                g.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            }
            Files.deleteIfExists(directory);
        }
    }

    @Benchmark
    public NettyHandoff.Report handOff(Servers s) throws Exception {
        CompletableFuture<NettyHandoff.Arrived> arrived = CompletableFuture.supplyAsync(() -> {
            try {
                return NettyHandoff.of(s.successorEcho, ChannelStateCodec.NONE).takeOver(s.target, s.successor);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        s.report = NettyHandoff.of(s.echo, ChannelStateCodec.NONE).handOff(List.copyOf(s.echo.live),
                MigrationSource.to(s.socket).mode(MigrationMode.SAME_NAMESPACE));
        s.arrived = arrived.get();
        return s.report;
    }
}
