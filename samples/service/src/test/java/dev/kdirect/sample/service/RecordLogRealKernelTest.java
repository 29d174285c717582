package dev.kdirect.sample.service;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.kdirect.Feature;
import dev.kdirect.pmem.Granularity;
import dev.kdirect.testing.RequiresRealKernel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The log on real DAX persistent memory: a MAP_SYNC mapping of a file on a file system mounted with -o dax, whose
 * stores persist by cache-line write-back. Skipped without one unless dax-pmem is required (kdirect.require); in
 * {@code kdirect guest} it is required, and the DAX directory is {@code $KDIRECT_PMEM_DIR}.
 */
class RecordLogRealKernelTest {

    @Test
    @RequiresRealKernel(Feature.DAX_PMEM)
    void recordsPersistByCacheLineWriteBackOnADaxFileSystem() throws Exception {
        Path dir = Files.createTempDirectory(daxDirectory(), "record-log-");
        Path file = dir.resolve("records.pmem");
        byte[] record = "persisted by clwb and a fence".getBytes(StandardCharsets.UTF_8);
        try (RecordLog log = RecordLog.open(file, 4096)) {
            assertEquals(Granularity.CACHE_LINE, log.region().granularity(), log.region().granularityReason());
            log.append(record);
        }
        try (RecordLog log = RecordLog.open(file, 4096)) {
            List<byte[]> read = log.records();
            assertEquals(1, read.size());
            assertArrayEquals(record, read.get(0));
        } finally {
            Files.deleteIfExists(file);
            Files.delete(dir);
        }
    }

    /** Where kdirect's DAX probe looks first: -Dkdirect.pmem.dir, else $KDIRECT_PMEM_DIR. */
    private static Path daxDirectory() {
        String dir = System.getProperty("kdirect.pmem.dir", System.getenv().getOrDefault("KDIRECT_PMEM_DIR", ""));
        if (dir.isBlank()) {
            throw new IllegalStateException("DAX persistent memory is real here but no directory on it is named:"
                    + " set KDIRECT_PMEM_DIR or -Dkdirect.pmem.dir to the -o dax mount");
        }
        return Path.of(dir);
    }
}
