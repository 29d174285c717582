package dev.kdirect.backend;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * The first CPU's flags in /proc/cpuinfo, read once. The kernel clears a flag it does not use (e.g. la57 when
 * 5-level paging is off, ospke when PKU is off: arch/x86/kernel/cpu/common.c), so a flag tells what the running
 * kernel enabled, not only what the CPU has.
 */
public final class CpuFlags {
    private static final Set<String> FLAGS = read();

    private CpuFlags() {
    }

    /** True when /proc/cpuinfo lists {@code flag} (false when it cannot be read). */
    public static boolean has(String flag) {
        return FLAGS.contains(flag);
    }

    private static Set<String> read() {
        try {
            return Files.readString(Path.of("/proc/cpuinfo")).lines().filter(l -> l.startsWith("flags")).findFirst()
                    .map(l -> Set.copyOf(List.of(l.substring(l.indexOf(':') + 1).trim().split("\\s+"))))
                    .orElse(Set.of());
        } catch (IOException | RuntimeException e) {
            return Set.of();
        }
    }
}
