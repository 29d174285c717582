/**
 * kdirect tcprepair: checkpoint, detach and restore of live TCP connections with TCP_REPAIR, by descriptor or on JDK
 * SocketChannels; a versioned, checked binary image of their state; the nftables network lock; and live migration
 * between processes and network namespaces.
 */
module dev.kdirect.tcprepair {
    requires transitive dev.kdirect;
    requires jdk.net;

    exports dev.kdirect.tcprepair;
}
