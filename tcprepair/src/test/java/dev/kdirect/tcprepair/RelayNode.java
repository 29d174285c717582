package dev.kdirect.tcprepair;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A {@link CorruptingRelay} that corrupts nothing, in its own JVM (inside a host namespace): relays one migration
 * session from LISTEN to TARGET (each a socket path, or IP:PORT), prints RELAYING once it listens, and once the
 * session has ended writes what the source sent to FILE and prints CAPTURED bytes. Arguments: LISTEN TARGET FILE.
 */
public final class RelayNode {
    private RelayNode() {
    }

    public static void main(String[] args) throws Exception {
        try (CorruptingRelay relay = new CorruptingRelay(address(args[0]), address(args[1]), -1)) {
            System.out.println("RELAYING");
            byte[] captured = relay.captured(Long.MAX_VALUE / 2); // until the session ends (or the test kills this)
            Files.write(Path.of(args[2]), captured);
            System.out.println("CAPTURED " + captured.length);
        }
    }

    static SocketAddress address(String text) {
        if (text.startsWith("/")) {
            return UnixDomainSocketAddress.of(text);
        }
        String[] hostPort = text.split(":");
        return new InetSocketAddress(hostPort[0], Integer.parseInt(hostPort[1]));
    }
}
