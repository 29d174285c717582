/**
 * kdirect tcprepair: checkpoint, detach and restore of live TCP connections with TCP_REPAIR, by descriptor or on JDK
 * SocketChannels; the state of a connection and a versioned, checked binary image of it that can move between
 * processes and hosts.
 */
module dev.kdirect.tcprepair {
    requires transitive dev.kdirect;

    exports dev.kdirect.tcprepair;
}
