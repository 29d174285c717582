package dev.kdirect.testing;

import dev.kdirect.Kernel;
import dev.kdirect.backend.BackendKernel;
import dev.kdirect.backend.simulated.SimulatedBackend;
import java.lang.foreign.MemorySegment;

/**
 * Damage a test can do to the simulated kernel's machine on purpose, which no syscall of the process can cause:
 * the failures the kernel's and the service's own safety checks exist for, one or more per feature. Each method
 * takes the simulated kernel to damage (e.g. the one {@link ForceSimulatedKernel} gives a test, as a
 * {@link Kernel} parameter) and throws {@link IllegalArgumentException} for any other kernel: the real machine
 * cannot be damaged from here.
 */
public final class SimulatedMachine {
    private SimulatedMachine() {
    }

    /**
     * Changes one byte of the kernel image loaded with kexec_file_load, as a stray DMA write would after the load:
     * purgatory's SHA-256 check then fails at the kexec reboot, and the machine hangs.
     *
     * @throws IllegalStateException when no kexec image is loaded
     */
    public static void corruptLoadedKexecKernel(Kernel kernel) {
        model(kernel).corruptLoadedKexecKernel();
    }

    /**
     * An uncorrectable memory error in the frame behind {@code page}'s first page (memory-failure): handled as the
     * kernel's memory_failure() handles it, the page is unmapped and poisoned, so the next access is a SIGBUS
     * (BUS_MCEERR_AR) on the real kernel; here the model answers as {@code MemoryFailure} and the syscalls do on
     * a poisoned page. The page must be anonymous memory that was written.
     *
     * @throws IllegalArgumentException when nothing is mapped there
     * @throws UnsupportedOperationException for a file page or a page never written
     */
    public static void poisonPage(Kernel kernel, MemorySegment page) {
        model(kernel).hardwareMemoryError(page.address());
    }

    /**
     * The machine's shared zero page is poisoned already, as after an earlier injection into it in this boot (the
     * first one answers EBUSY and marks the page for good): later injections into a page never written answer
     * EHWPOISON. A fuzzer starts a fresh model in the state of the real machine it compares it with.
     */
    public static void poisonZeroPage(Kernel kernel) {
        model(kernel).poisonZeroPage();
    }

    /**
     * The machine loses power (dax-pmem): every store to persistent memory that was not yet persistent (not
     * written back and fenced, or not msynced) is lost, so each region mapped on {@code kernel} holds, and its
     * file keeps, only what reached the media. This is the harshest crash; {@code CrashTester} explores the
     * others. Lost flushed-but-unfenced lines included.
     */
    public static void cutPower(Kernel kernel) {
        model(kernel).powerCut();
    }

    /**
     * The peer of the TCP connection at {@code fd} (tcp-repair; the other end, also a socket of {@code kernel})
     * crashes and answers with a RST: the next send or receive on {@code fd} fails with ECONNRESET, later reads
     * return 0, and the peer's socket is gone.
     *
     * @throws IllegalStateException when the peer is not a socket of {@code kernel}
     */
    public static void resetPeer(Kernel kernel, int fd) {
        model(kernel).resetPeer(fd);
    }

    /**
     * The peer of the TCP connection at {@code fd} stops taking in segments, as a hung host or a cut link: what
     * {@code fd} sends stays in its send queue, sent and unacknowledged (SIOCOUTQ counts it), until the returned
     * stall is closed and the bytes are retransmitted.
     *
     * @throws IllegalStateException when the peer is not a socket of {@code kernel}
     */
    public static Stall stallPeer(Kernel kernel, int fd) {
        SimulatedBackend model = model(kernel);
        model.stallPeer(fd, true);
        return () -> model.stallPeer(fd, false);
    }

    /**
     * Takes every free protection key (pkeys), as other code in the process (a library, the JVM) might: the next
     * pkey_alloc fails with ENOSPC.
     *
     * @return how many keys were free
     */
    public static int exhaustProtectionKeys(Kernel kernel) {
        return model(kernel).exhaustProtectionKeys();
    }

    /** A stalled peer; {@link #close()} lets it take in segments again. */
    @FunctionalInterface
    public interface Stall extends AutoCloseable {
        /** The peer resumes: what was sent meanwhile is retransmitted to it. */
        @Override
        void close();
    }

    private static SimulatedBackend model(Kernel kernel) {
        if (kernel instanceof BackendKernel backendKernel && backendKernel.backend() instanceof SimulatedBackend sim) {
            return sim;
        }
        throw new IllegalArgumentException(kernel + " is not a simulated kernel: only the model can be damaged");
    }
}
