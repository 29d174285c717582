package dev.kdirect.backend;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Whether the OS enabled PKU (CR4.PKE), read once from the {@code ospke} flag of /proc/cpuinfo
 * (arch/x86/kernel/cpu/common.c sets it in setup_pku). glibc's pkey_get and pkey_set execute RDPKRU and WRPKRU
 * without checking, which raises SIGILL where PKU is off: the real backends refuse with ENOSYS instead.
 */
public final class PkuSupport {
    private static final boolean ENABLED = readCpuInfo();

    private PkuSupport() {
    }

    /** True when RDPKRU and WRPKRU may be executed in this process. */
    public static boolean enabledByOs() {
        return ENABLED;
    }

    private static boolean readCpuInfo() {
        try {
            return Pattern.compile("^flags\\s*:.*\\bospke\\b", Pattern.MULTILINE)
                    .matcher(Files.readString(Path.of("/proc/cpuinfo"))).find();
        } catch (IOException | RuntimeException e) {
            return false; // without the evidence, never risk SIGILL
        }
    }
}
