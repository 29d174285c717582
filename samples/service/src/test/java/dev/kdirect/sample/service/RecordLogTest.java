package dev.kdirect.sample.service;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The log on the kernel kdirect picks for dax-pmem: real MAP_SYNC on a DAX file system, else the simulated
 * kernel's model of it over the same file.
 */
class RecordLogTest {
    private static final long SIZE = 4096;

    @TempDir
    Path dir;

    @Test
    void recordsAreBackAfterTheLogIsReopened() throws Exception {
        List<byte[]> written = List.of(bytes("first"), bytes(""), bytes("a third record, longer than 8 bytes"));
        Path file = dir.resolve("records.pmem");
        try (RecordLog log = RecordLog.open(file, SIZE)) {
            for (byte[] r : written) {
                log.append(r);
            }
        }
        try (RecordLog log = RecordLog.open(file, SIZE)) {
            List<byte[]> read = log.records();
            assertEquals(written.size(), read.size());
            for (int i = 0; i < written.size(); i++) {
                assertArrayEquals(written.get(i), read.get(i));
            }
        }
    }

    @Test
    void aRecordThatDoesNotFitIsRefusedAndTheLogKeepsTheOthers() throws Exception {
        try (RecordLog log = RecordLog.open(dir.resolve("full.pmem"), SIZE)) {
            log.append(bytes("kept"));
            assertThrows(IllegalStateException.class, () -> log.append(new byte[(int) SIZE]));
            assertEquals(1, log.records().size());
            assertArrayEquals(bytes("kept"), log.records().get(0));
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
