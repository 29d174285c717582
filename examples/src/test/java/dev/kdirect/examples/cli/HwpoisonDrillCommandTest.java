package dev.kdirect.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Feature;
import dev.kdirect.Kernels;
import dev.kdirect.testing.RequiresRealKernel;
import org.junit.jupiter.api.Test;

/**
 * {@code kdirect hwpoison-drill} on the kernel this place gives (real memory-failure injection in the QEMU guest,
 * the simulated kernel on this host): the poisoned page is detected, named, and the data recovered.
 */
@RequiresRealKernel
class HwpoisonDrillCommandTest {

    private static CliRun run(String... args) {
        String[] all = new String[args.length + 1];
        all[0] = "hwpoison-drill";
        System.arraycopy(args, 0, all, 1, args.length);
        return CliRun.of(all);
    }

    private static boolean real() {
        return Kernels.forFeature(Feature.MEMORY_FAILURE).binding().isReal();
    }

    @Test
    void thePoisonedPageIsDetectedNamedAndRecoveredFrom() {
        CliRun r = run("--json", "--pages", "6", "--poison-page", "4");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("\"realKernel\": " + real())
                .contains("\"detected\": true")
                .contains("\"poisonedOffset\": " + 4 * 4096)
                .contains("\"poisonedPageIndex\": 4")
                .contains("\"listedPoisonedOffsets\": [\n    " + 4 * 4096 + "\n  ]")
                .contains("\"recovered\": true")
                .contains("\"ok\": true");
        assertThat(r.out()).contains(real() ? "InternalError" : "poison list");
    }

    @Test
    void theTextTellsTheStory() {
        CliRun r = run();
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("injected HWPOISON into page 3").contains("offset 12288")
                .contains("(matches)").contains("recovered from");
    }

    @Test
    void theDebugfsRouteNeedsTheRealKernel() {
        CliRun r = run("--debugfs", "--json");
        if (real()) {
            assertThat(r.exit()).as(r.out() + r.err()).isZero();
            assertThat(r.out()).contains("\"route\": \"debugfs corrupt-pfn\"").contains("\"ok\": true");
        } else {
            assertThat(r.exit()).isEqualTo(2);
            assertThat(r.err()).contains("needs the real kernel");
        }
    }

    @Test
    void badArgumentsAreUsageErrors() {
        assertThat(run("--pages", "4", "--poison-page", "4").exit()).isEqualTo(2);
        assertThat(run("--help").exit()).isZero();
    }
}
