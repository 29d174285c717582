package dev.kdirect.pkeys;

import static dev.kdirect.contract.ContractKernels.assertErrno;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Errno;
import dev.kdirect.Kernel;
import dev.kdirect.testing.ForceSimulatedKernel;
import dev.kdirect.testing.SimulatedMachine;
import org.junit.jupiter.api.Test;

/** {@link SimulatedMachine#exhaustProtectionKeys}: what a service sees when other code took every key. */
class KeyExhaustionTest {
    /** x86-64 has 16 keys and key 0 is the default (arch/x86/include/asm/pkeys.h, 6.1): 15 can be allocated. */
    private static final int ALLOCATABLE = 15;

    @Test
    @ForceSimulatedKernel
    void onceOtherCodeHoldsEveryKeyAllocationFailsWithEnospc(Kernel kernel) throws Exception {
        try (ProtectionKey mine = ProtectionKey.allocate()) {
            assertThat(mine.kernel()).isSameAs(kernel);
            assertThat(SimulatedMachine.exhaustProtectionKeys(kernel)).isEqualTo(ALLOCATABLE - 1);

            assertErrno(Errno.ENOSPC, ProtectionKey::allocate);
            assertThat(SimulatedMachine.exhaustProtectionKeys(kernel)).isZero();
        }
        try (ProtectionKey freedAgain = ProtectionKey.allocate()) {
            assertThat(freedAgain.number()).as("the key this test freed, the only free one").isEqualTo(1);
        }
    }
}
