/**
 * kdirect tcprepair: the state of a live TCP connection as TCP_REPAIR exposes it, and a versioned, checked binary
 * image of it that can move between processes and hosts. (Checkpoint and restore through the kernel come next.)
 */
module dev.kdirect.tcprepair {
    requires transitive dev.kdirect;

    exports dev.kdirect.tcprepair;
}
