/** A small service on kdirect: a secret under a protection key, records on persistent memory, TCP hand-over. */
module dev.kdirect.sample.service {
    requires dev.kdirect.pkeys;
    requires dev.kdirect.pmem;
    requires dev.kdirect.tcprepair;

    exports dev.kdirect.sample.service;
}
