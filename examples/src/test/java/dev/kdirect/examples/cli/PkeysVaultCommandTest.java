package dev.kdirect.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Feature;
import dev.kdirect.Kernels;
import dev.kdirect.testing.RequiresRealKernel;
import org.junit.jupiter.api.Test;

/**
 * {@code kdirect pkeys-vault} on the kernel this place gives (real protection keys in the QEMU guest and on PKU
 * hosts, the simulated kernel elsewhere): the over-read is stopped, and the control experiment leaks.
 */
@RequiresRealKernel
class PkeysVaultCommandTest {

    private static String run(int expectedExit, String... args) {
        String[] all = new String[args.length + 1];
        all[0] = "pkeys-vault";
        System.arraycopy(args, 0, all, 1, args.length);
        CliRun r = CliRun.of(all);
        assertThat(r.exit()).as(r.out() + r.err()).isEqualTo(expectedExit);
        return r.out();
    }

    @Test
    void theOverReadStopsAtTheVaultPage() {
        String json = run(0, "--json");
        boolean real = Kernels.forFeature(Feature.PKEYS).binding().isReal();
        assertThat(json).contains("\"realProtectionKeys\": " + real)
                .contains("\"signatureVerified\": true")
                .contains("\"honestEchoBytes\": 16")
                .contains("\"overReadClaimedBytes\": 80")
                .contains("\"overReadEchoedBytes\": 16")
                .contains("\"secretLeaked\": false");
    }

    @Test
    void withTheWindowLeftOpenTheSecretLeaks() {
        String text = run(1, "--leave-window-open");
        assertThat(text).contains("echoed 80 bytes").contains("SECRET LEAKED");
    }
}
