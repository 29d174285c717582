package dev.kdirect.testing;

import dev.kdirect.Kernel;
import dev.kdirect.backend.BackendKernel;
import dev.kdirect.backend.simulated.SimulatedBackend;

/**
 * Faults a test can inject into the simulated kernel's machine, which no syscall can cause: the kind of damage
 * the kernel's own safety checks exist for.
 */
public final class SimulatedMachine {
    private SimulatedMachine() {
    }

    /**
     * Changes one byte of the kernel image loaded with kexec_file_load, as a stray DMA write would after the load:
     * purgatory's SHA-256 check then fails at the kexec reboot, and the machine hangs.
     *
     * @throws IllegalArgumentException when {@code kernel} is not a simulated kernel
     * @throws IllegalStateException when no kexec image is loaded
     */
    public static void corruptLoadedKexecKernel(Kernel kernel) {
        if (kernel instanceof BackendKernel backendKernel && backendKernel.backend() instanceof SimulatedBackend sim) {
            sim.corruptLoadedKexecKernel();
            return;
        }
        throw new IllegalArgumentException(kernel + " is not a simulated kernel: only the model can be damaged");
    }
}
