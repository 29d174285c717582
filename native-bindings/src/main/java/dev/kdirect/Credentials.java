package dev.kdirect;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Who a simulated process is: effective uid, effective capability mask and umask. By default copied from the
 * real process (/proc/self/status), as a forked child would inherit them, so the model and the real kernel
 * agree on permission checks; tests may build other identities.
 */
public record Credentials(int euid, long effectiveCapabilities, int umask) {
    /** Every capability of a 6.x kernel (CAP_LAST_CAP 40 and below). */
    public static final long ALL_CAPABILITIES = (1L << 41) - 1;

    /** Root with every capability. */
    public static Credentials root() {
        return new Credentials(0, ALL_CAPABILITIES, 022);
    }

    /** An unprivileged user: no capabilities. */
    public static Credentials user(int uid) {
        return new Credentials(uid, 0, 022);
    }

    /** The credentials of this JVM process, read from /proc/self/status; root when that cannot be read. */
    public static Credentials ofCurrentProcess() {
        try {
            List<String> status = Files.readAllLines(Path.of("/proc/self/status"));
            int euid = Integer.parseInt(field(status, "Uid:").split("\\s+")[1]);
            long caps = Long.parseUnsignedLong(field(status, "CapEff:"), 16);
            String umask = field(status, "Umask:");
            return new Credentials(euid, caps, umask.isEmpty() ? 022 : Integer.parseInt(umask, 8));
        } catch (IOException | RuntimeException e) {
            return root();
        }
    }

    /** True when the effective set holds {@code capability}. */
    public boolean capable(Capability capability) {
        return capable(capability.number());
    }

    /** True when the effective set holds capability number {@code capability}. */
    public boolean capable(int capability) {
        return (effectiveCapabilities & (1L << capability)) != 0;
    }

    private static String field(List<String> status, String name) {
        return status.stream().filter(l -> l.startsWith(name)).map(l -> l.substring(name.length()).trim())
                .findFirst().orElse("");
    }
}
