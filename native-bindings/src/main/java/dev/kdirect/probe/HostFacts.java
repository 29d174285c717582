package dev.kdirect.probe;

import dev.kdirect.backend.CpuFlags;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/** Small reads of /proc and /sys that explain why a probe failed. Missing files read as empty. */
final class HostFacts {
    private HostFacts() {
    }

    /**
     * {@code "; in this kdirect checkout: " + how} when the JVM runs inside a clone of kdirect's repository (its
     * {@code ci/qemu/run} is in the working directory or above), else empty: a library user has no QEMU guest.
     */
    static String inRepository(String how) {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isExecutable(dir.resolve("ci/qemu/run")) && Files.isRegularFile(dir.resolve("kdirect"))) {
                return "; in this kdirect checkout: " + how;
            }
        }
        return "";
    }

    /** True when the first CPU's flags in /proc/cpuinfo include {@code flag}. */
    static boolean cpuHasFlag(String flag) {
        return CpuFlags.has(flag);
    }

    /** The trimmed content of a small file, or empty. */
    static String read(Path path) {
        try {
            return Files.readString(path).trim();
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    static Optional<String> readIfPresent(Path path) {
        String s = read(path);
        return s.isEmpty() ? Optional.empty() : Optional.of(s);
    }

    /** The entries of a directory whose names start with {@code prefix}. */
    static List<Path> list(Path dir, String prefix) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith(prefix)).sorted().toList();
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
    }
}
