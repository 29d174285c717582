package dev.kdirect.pkeys;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.kdirect.Binding;
import dev.kdirect.KernelException;
import dev.kdirect.contract.ContractKernels;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;

/**
 * The simulated kernel's form of SEGV_PKUERR: an access through a region's accessors that the thread's PKRU
 * forbids throws {@link ProtectionKeyFault} with the key and the address (the real kernel's version of this,
 * a SIGSEGV that kills the JVM, is {@link ViolationInChildJvmTest}).
 */
class SimulatedFaultTest {

    @Test
    void accessOutsideAWindowFaultsWithTheKeyAndAddress() throws KernelException {
        try (ProtectionKey key = ProtectionKey.allocate(ContractKernels.kernel(Binding.SIMULATED));
                ProtectedRegion region = ProtectedRegion.allocate(key, 4096)) {
            ProtectionKeyFault read = catchThrowableOfType(ProtectionKeyFault.class, () -> region.getLong(64));
            assertThat(read.key()).isEqualTo(key.number());
            assertThat(read.address()).isEqualTo(region.address() + 64);
            assertThat(read.isWrite()).isFalse();
            assertThat(read).hasMessageContaining("Open an AccessWindow");

            try (AccessWindow ignored = region.open(Access.READ)) {
                assertThat(region.getLong(64)).isZero();
                ProtectionKeyFault write = catchThrowableOfType(ProtectionKeyFault.class,
                        () -> region.setByte(5, (byte) 1));
                assertThat(write.isWrite()).isTrue();
                assertThat(write.address()).isEqualTo(region.address() + 5);
            }
            try (AccessWindow ignored = region.open(Access.READ_WRITE)) {
                region.copyFrom(new byte[] {1, 2, 3}, 0, 3, 10);
                byte[] back = new byte[3];
                region.copyTo(10, back, 0, 3);
                assertThat(back).containsExactly(1, 2, 3);
            }
            assertThat(catchThrowableOfType(ProtectionKeyFault.class, () -> region.copyTo(10, new byte[3], 0, 3)))
                    .isNotNull();
        }
    }

    @Test
    void anotherThreadHasNoAccessWhileThisOneHasAWindow() throws Exception {
        try (ProtectionKey key = ProtectionKey.allocate(ContractKernels.kernel(Binding.SIMULATED));
                ProtectedRegion region = ProtectedRegion.allocate(key, 4096)) {
            CountDownLatch windowOpen = new CountDownLatch(1);
            // Started before the window: a thread started inside one would inherit its rights, as at clone().
            CompletableFuture<Throwable> fault = OnThread.failureOf(Thread.ofPlatform(), () -> {
                windowOpen.await();
                region.getLong(0);
            });
            try (AccessWindow ignored = region.open(Access.READ_WRITE)) {
                region.setLong(0, 1L);
                windowOpen.countDown();
                assertThat(fault.get()).isInstanceOf(ProtectionKeyFault.class);
            }
        }
    }
}
