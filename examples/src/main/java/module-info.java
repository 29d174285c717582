/**
 * The kdirect command line ({@code ./kdirect}): {@code doctor} and the example programs. Uses only the public
 * API of kdirect's modules.
 */
module dev.kdirect.examples {
    requires dev.kdirect;
    requires dev.kdirect.pkeys;
    requires dev.kdirect.kexec;
    requires dev.kdirect.pmem;
    requires dev.kdirect.tcprepair;
    requires dev.kdirect.netty;
    requires io.netty.codec;
    requires info.picocli;

    opens dev.kdirect.examples.cli to info.picocli;
}
