/** kdirect's JMH benchmarks; run them with {@code benchmarks/run}. */
module dev.kdirect.benchmarks {
    requires dev.kdirect;
    requires dev.kdirect.kexec;
    requires dev.kdirect.pkeys;
    requires dev.kdirect.pmem;
    requires dev.kdirect.tcprepair;
    requires dev.kdirect.netty;
    requires io.netty.codec;
    requires jmh.core;

    exports dev.kdirect.benchmarks;
    exports dev.kdirect.benchmarks.jmh_generated;
}
