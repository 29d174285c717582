package dev.kdirect.pmem;

import dev.kdirect.Kernels;
import java.nio.file.Path;

/**
 * The child JVM of {@link LibpmemCallsTest}: maps a 4096-byte region strictly (DAX, MAP_SYNC) in the directory
 * given, prints its address and granularity, then persists bytes 60..69 and flushes and drains bytes 200..207.
 */
public final class LibpmemCallsProgram {
    private LibpmemCallsProgram() {
    }

    public static void main(String[] args) throws Exception {
        try (PmemRegion region = PmemRegion.map(Kernels.real(), Path.of(args[0]).resolve("region"), 4096, true)) {
            System.out.println("region " + Long.toHexString(region.readOnlyView().address()) + " "
                    + region.granularity());
            region.putLong(60, 1L);
            region.persist(60, 10);
            region.putLong(200, 2L);
            region.flush(200, 8);
            region.drain();
        }
    }
}
