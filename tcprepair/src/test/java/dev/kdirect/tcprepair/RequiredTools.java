package dev.kdirect.tcprepair;

import dev.kdirect.Feature;
import dev.kdirect.testing.RequiredFeatures;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * The command-line tools the lock and the namespace tests run (nft from nftables, ip from iproute2). Where
 * tcp-repair is required (CI as root, the QEMU guest) a missing tool fails the test, because CI installs them
 * (ci/lib/ensure-packages); elsewhere the test is skipped with the reason.
 */
final class RequiredTools {
    private static final List<String> DIRECTORIES = List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin");

    private RequiredTools() {
    }

    static void require(String... tools) {
        for (String tool : tools) {
            if (DIRECTORIES.stream().noneMatch(d -> Files.isExecutable(Path.of(d, tool)))) {
                String why = tool + " is not installed (install " + (tool.equals("nft") ? "nftables" : "iproute2")
                        + ": apt-get install " + (tool.equals("nft") ? "nftables" : "iproute2") + ")";
                if (RequiredFeatures.get().contains(Feature.TCP_REPAIR)) {
                    Assertions.fail(why + ", and tcp-repair is required here: ci/lib/ensure-packages installs it");
                }
                Assumptions.abort(why);
            }
        }
    }
}
