package dev.kdirect.backend.simulated;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The release of the kernel this JVM runs on, read once from /proc/sys/kernel/osrelease: where the kernel's answer
 * changed between versions the model follows the booted kernel, so that it agrees with the real one beside it (the
 * guest's 6.1, bookworm-backports' 6.12, the host's 6.18).
 */
public final class BootedKernel {
    private static final int[] VERSION = read();

    private BootedKernel() {
    }

    /** True when the booted kernel is {@code major.minor} or later. */
    public static boolean atLeast(int major, int minor) {
        return VERSION[0] > major || VERSION[0] == major && VERSION[1] >= minor;
    }

    private static int[] read() {
        try {
            // by lines: on the 6.18 host Files.readString of a /proc/sys file returned only its first byte
            String release = Files.readAllLines(Path.of("/proc/sys/kernel/osrelease")).getFirst().strip();
            String[] parts = release.split("[.-]");
            return new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1])};
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("cannot read the kernel's release from /proc/sys/kernel/osrelease", e);
        }
    }
}
