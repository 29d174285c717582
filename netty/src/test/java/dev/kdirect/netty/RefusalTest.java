package dev.kdirect.netty;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.netty.EchoFixture.Client;
import dev.kdirect.netty.EchoFixture.Echo;
import dev.kdirect.netty.EchoFixture.Transport;
import dev.kdirect.tcprepair.MigrationSource;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslHandler;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Channels kdirect does not move are refused before anything is touched (no privilege needed: nothing is frozen):
 * a TLS channel, a half-closed one, and one of Netty's plain NioSocketChannel. Each stays registered and served.
 */
@Timeout(60)
class RefusalTest {

    @Test
    void tlsHalfClosedAndPlainNioChannelsAreRefusedAndKeepBeingServed() throws Exception {
        EventLoopGroup group = Transport.NIO.group(1);
        try {
            Echo echo = new Echo();
            Echo tlsEcho = new Echo();
            Channel movable = EchoFixture.serve(Transport.NIO, group, echo);
            Channel tls = new ServerBootstrap().group(group).channel(HandoffNioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) throws Exception {
                            SSLEngine engine = SSLContext.getDefault().createSSLEngine();
                            engine.setUseClientMode(false);
                            ch.pipeline().addLast("tls", new SslHandler(engine));
                            tlsEcho.initChannel(ch);
                        }
                    }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            Echo plainEcho = new Echo();
            Channel plain = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(plainEcho).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            Echo halfEcho = new Echo();
            Channel halfServer = new ServerBootstrap().group(group).channel(HandoffNioServerSocketChannel.class)
                    .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true).childHandler(halfEcho)
                    .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();

            try (Client tlsClient = new Client(0, (InetSocketAddress) tls.localAddress());
                    Client plainClient = new Client(1, (InetSocketAddress) plain.localAddress());
                    Client halfClient = new Client(2, (InetSocketAddress) halfServer.localAddress())) {
                NettyHandoffTest.await(() -> tlsEcho.live.size() == 1 && plainEcho.live.size() == 1
                        && halfEcho.live.size() == 1);
                halfClient.socket.shutdownOutput();
                Channel half = halfEcho.live.iterator().next();
                NettyHandoffTest.await(() -> ((DuplexChannel) half).isInputShutdown());
                List<Channel> channels = List.of(tlsEcho.live.iterator().next(), plainEcho.live.iterator().next(),
                        half);

                NettyHandoff.Report report = NettyHandoff.of(echo, EchoFixture.FRAME_COUNT).handOff(channels,
                        MigrationSource.to(Path.of("/nonexistent/kdirect-netty.sock")));

                List<NettyHandoff.Outcome> o = report.outcomes();
                assertThat(o).extracting(NettyHandoff.Outcome::status).containsOnly(NettyHandoff.Status.REFUSED);
                assertThat(o.get(0).reason()).contains("TLS (SslHandler 'tls' in the pipeline)");
                assertThat(o.get(1).reason()).contains("NioSocketChannel").contains("HandoffNioServerSocketChannel");
                assertThat(o.get(2).reason()).contains("half-closed (input shut down)");
                assertThat(report.failure()).isNull();
                assertThat(report.lockedNanos()).isZero();
                for (NettyHandoff.Outcome refused : o) {
                    assertThat(refused.now()).isSameAs(refused.channel());
                    assertThat(refused.channel().isRegistered()).isTrue();
                    assertThat(refused.channel().config().isAutoRead()).isTrue();
                }
                plainClient.send(EchoFixture.FRAME); // still served here, pipeline untouched
                plainClient.receive(EchoFixture.FRAME);
                assertThat(o.get(0).channel().pipeline().get("tls")).isInstanceOf(SslHandler.class);
            }
            movable.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }
}
