package dev.kdirect.backend.simulated;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kdirect.Errno;
import dev.kdirect.KernelRelease;
import dev.kdirect.contract.TestImages;
import dev.kdirect.rules.BzImageRules;
import org.junit.jupiter.api.Test;

/**
 * The placement of each release the model names, pinned (the contract suite checks the running release against
 * the kernel): what 6.1 and 6.12 answer where they differ, and the refusal for a release between them.
 */
class KexecPlacementTest {
    private static final KernelRelease V6_1 = KernelRelease.parse("6.1.0-57-amd64");
    private static final KernelRelease V6_12 = KernelRelease.parse("6.12.95+deb12-amd64");

    private static int place(KernelRelease release, byte[] image) {
        return new KexecPlacement(KexecPlacement.GUEST_MEMORY, release).place(image, 0, 1);
    }

    @Test
    void anAlignmentOffAWholePageLoadsOnlyWithoutTheOffByOne() throws Exception {
        byte[] image = TestImages.withU32(TestImages.loadable(), BzImageRules.KERNEL_ALIGNMENT, 0x12345);
        assertThat(place(V6_1, image)).isEqualTo(-Errno.EADDRNOTAVAIL.value());
        assertThat(place(V6_12, image)).isZero();
    }

    @Test
    void aPreferredAddressAboveTheMemoryLeavesNoHoleFrom612() throws Exception {
        byte[] image = TestImages.withU32(TestImages.loadable(), BzImageRules.PREF_ADDRESS + 4, 0x0100_0000);
        assertThat(place(V6_1, image)).isZero();
        assertThat(place(V6_12, image)).isEqualTo(-Errno.EADDRNOTAVAIL.value());
    }

    @Test
    void aReleaseBetweenTheModelledOnesIsRefusedNamingTheRule() throws Exception {
        assertThatThrownBy(() -> place(KernelRelease.parse("6.8.0"), TestImages.loadable()))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("placement on 6.8.0");
    }
}
