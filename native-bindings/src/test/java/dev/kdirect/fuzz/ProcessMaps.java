package dev.kdirect.fuzz;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** This process's memory map as /proc/self/maps lists it, for a fuzzer's interference checks. */
final class ProcessMaps {
    private ProcessMaps() {
    }

    /** Whether any mapping of this process overlaps {@code [from, to)}. */
    static boolean anythingMapped(long from, long to) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            int dash = line.indexOf('-');
            int space = line.indexOf(' ');
            long start = Long.parseUnsignedLong(line.substring(0, dash), 16);
            long end = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
            if (Long.compareUnsigned(start, to) < 0 && Long.compareUnsigned(from, end) < 0) {
                return true;
            }
        }
        return false;
    }
}
