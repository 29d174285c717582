/**
 * kdirect netty: hands the live connections of a running Netty server (NIO or native epoll transport) to its
 * successor process with TCP_REPAIR ({@code dev.kdirect.tcprepair}), with the bytes Netty itself holds and the
 * application's state per connection. See {@link dev.kdirect.netty.NettyHandoff}.
 */
module dev.kdirect.netty {
    requires transitive dev.kdirect.tcprepair;
    requires transitive io.netty.transport;
    requires transitive io.netty.buffer;
    requires transitive io.netty.common;
    requires io.netty.codec;
    requires io.netty.handler;
    requires transitive io.netty.transport.classes.epoll;
    requires io.netty.transport.unix.common;

    exports dev.kdirect.netty;
}
