package dev.kdirect.examples.cli;

import static java.nio.ByteOrder.LITTLE_ENDIAN;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kdirect pmem-log} on damaged copies of a 5-record log (format v2 layout: header line 0, commit slots at
 * 64 and 128, records of 24 or 32 bytes from 192): each damage is refused with its own exit status or, for a
 * damaged newest commit slot, opened at the older commit with a warning; never a stack trace, and opening never
 * writes the file. {@code --salvage} then counts what can be read and what is lost.
 */
class PmemLogCommandTest {
    private static final int SIZE = 4096;
    private static final long SLOT_0 = 64;
    private static final long SLOT_1 = 128;
    private static final long FIRST_RECORD = 192;

    @TempDir
    Path dir;

    Path log;
    byte[] good;

    static CliRun run(Path file, String... args) {
        String[] all = new String[args.length + 5];
        all[0] = "pmem-log";
        all[1] = "--file";
        all[2] = file.toString();
        all[3] = "--size";
        all[4] = String.valueOf(SIZE);
        System.arraycopy(args, 0, all, 5, args.length);
        return CliRun.of(all);
    }

    @BeforeEach
    void fiveRecords() throws IOException {
        log = dir.resolve("five.log");
        CliRun r = run(log, "--records", "5");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        good = Files.readAllBytes(log);
    }

    /** A copy of the 5-record log with {@code damage} applied to its bytes. */
    private Path damaged(Consumer<ByteBuffer> damage) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(good.clone()).order(LITTLE_ENDIAN);
        damage.accept(bytes);
        return Files.write(dir.resolve("damaged.log"), bytes.array());
    }

    /** The offsets of the 5 records: payloads "record N of kdirect pmem-log" are 27 bytes, 48 with header and pad. */
    private static long record(int i) {
        return FIRST_RECORD + 48L * i;
    }

    /** Opening the copy is refused with exit 5 naming {@code why}; salvage then reads {@code readable} records. */
    private void refused(Path copy, String why, int readable, String lost) throws IOException {
        byte[] before = Files.readAllBytes(copy);
        CliRun open = CliRun.onRealAndSimulated("pmem-log", "--file", copy.toString(), "--size",
                String.valueOf(SIZE), "--records", "0");
        assertThat(open.exit()).as(open.out() + open.err()).isEqualTo(5);
        assertThat(open.err()).contains("was refused").contains(why).contains("Nothing was written")
                .contains("--salvage");
        noStackTrace(open);
        CliRun salvage = run(copy, "--salvage", "--json");
        assertThat(salvage.exit()).as(salvage.out() + salvage.err()).isEqualTo(5);
        assertThat(salvage.out()).contains("\"readable\": " + readable).contains("\"lost\": " + lost);
        noStackTrace(salvage);
        assertThat(Files.readAllBytes(copy)).as("the file after opening and salvaging it").isEqualTo(before);
    }

    private static void noStackTrace(CliRun r) {
        assertThat(r.out() + r.err()).doesNotContain("Exception").doesNotContain("\tat ").doesNotContain("bug");
    }

    @Test
    void theIntactLogOpensWithItsFiveRecordsAndSalvageFindsNothingLost() throws IOException {
        CliRun r = run(log, "--records", "0", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("\"recordsBefore\": 5").contains("\"fellBack\": false");
        CliRun salvage = run(log, "--salvage");
        assertThat(salvage.exit()).as(salvage.err()).isZero();
        assertThat(salvage.out()).contains("intact: 5 records").contains("5 records can be read (sequence numbers"
                + " 0-4)").contains("lost: none found missing");
        assertThat(Files.readAllBytes(log)).isEqualTo(good);
    }

    @Test
    void aLogZeroedFromARecordBoundaryIsRefusedAndTheLossCounted() throws IOException {
        Path copy = damaged(b -> b.put((int) record(2), new byte[SIZE - (int) record(2)]));
        refused(copy, "record 2 at offset " + record(2) + " fails its check (length 0)", 2, "[\n    2,\n    3,\n    4\n  ]");
    }

    @Test
    void twoZeroedRecordsAreRefusedAndTheRecordsAfterThemSalvaged() throws IOException {
        Path copy = damaged(b -> b.put((int) record(1), new byte[96]));
        refused(copy, "record 1 at offset " + record(1), 3, "[\n    1,\n    2\n  ]");
    }

    @Test
    void aFlippedBitInTheMagicIsRefusedNotReformatted() throws IOException {
        Path copy = damaged(b -> b.put(3, (byte) (b.get(3) ^ 0x10)));
        refused(copy, "it is not a kdirect log (magic", 5, "[]");
    }

    @Test
    void aZeroedHeaderIsRefusedNotReformatted() throws IOException {
        Path copy = damaged(b -> b.put(0, new byte[64]));
        refused(copy, "the header's magic is zero, but records follow", 5, "[]");
    }

    @Test
    void aHeaderFieldChangedFailsTheHeaderChecksum() throws IOException {
        Path copy = damaged(b -> b.putLong(16, 8192));
        refused(copy, "the header (offset 0 to 32) fails its checksum", 5, "[]");
    }

    @Test
    void aHugeLengthIsRefusedWithoutOverflow() throws IOException {
        Path copy = damaged(b -> b.putInt((int) record(0), 0x7fffffff));
        refused(copy, "record 0 at offset 192 fails its check (length 2147483647 runs past", 4, "[\n    0\n  ]");
        Path unsigned = damaged(b -> b.putInt((int) record(0), 0xffffffff));
        refused(unsigned, "length 4294967295 runs past", 4, "[\n    0\n  ]");
    }

    @Test
    void bothCommitSlotsDamagedAreRefusedAndEveryRecordSalvaged() throws IOException {
        Path copy = damaged(b -> {
            b.putLong((int) SLOT_0 + 8, 4000);
            b.putLong((int) SLOT_1 + 8, 4000);
        });
        refused(copy, "both commit slots", 5, "[]");
    }

    @Test
    void aNewestCommitSlotWithItsEndMovedOpensAtTheOlderCommitWithAWarning() throws IOException {
        // 5 appends after formatting's commits 0 and 1: commit 6 is the newest, in slot 0
        for (long by : new long[] {256, -48}) {
            Path copy = damaged(b -> b.putLong((int) SLOT_0 + 8, b.getLong((int) SLOT_0 + 8) + by));
            byte[] before = Files.readAllBytes(copy);
            CliRun r = run(copy, "--records", "0", "--json");
            assertThat(r.exit()).as(r.out() + r.err()).isZero();
            assertThat(r.out()).contains("\"recordsBefore\": 4").contains("\"fellBack\": true");
            assertThat(r.err()).as("with --json the warning is in the result").isEmpty();
            assertThat(r.out()).contains("the newest commit slot").contains("fails its check")
                    .contains("ends at commit 5; 1 whole record(s) past that end were not committed");
            noStackTrace(r);
            CliRun salvage = run(copy, "--salvage");
            assertThat(salvage.exit()).isEqualTo(5);
            assertThat(salvage.out()).contains("opens at the older commit 5").contains("5 records can be read")
                    .contains("committed: 4 records").contains("commit slot 0 (offset 64) fails its check");
            assertThat(Files.readAllBytes(copy)).isEqualTo(before);
        }
    }

    @Test
    void aFormatV1LogIsRecognisedAndRefused() throws IOException {
        Path v1 = damaged(b -> {
            b.put(0, new byte[SIZE]);
            b.putLong(0, 0x4b44504d454d4c47L); // v1: magic, then the end at 8
            b.putLong(8, 64);
        });
        byte[] before = Files.readAllBytes(v1);
        CliRun r = run(v1, "--records", "0");
        assertThat(r.exit()).isEqualTo(5);
        assertThat(r.err()).contains("format v1 log").contains("Nothing was written");
        noStackTrace(r);
        assertThat(Files.readAllBytes(v1)).isEqualTo(before);
    }

    @Test
    void dataThatIsNotALogIsRefusedNotFormatted() throws IOException {
        Path other = Files.write(dir.resolve("data.bin"), new byte[SIZE]);
        Files.write(other, "precious".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
                java.nio.file.StandardOpenOption.WRITE);
        refused(other, "it is not a kdirect log (magic", 0, "[]");
    }

    @Test
    void aFullLogStopsWithItsOwnStatusAndKeepsWhatWasAppended() throws IOException {
        Path small = dir.resolve("small.log");
        CliRun r = run(small, "--records", "1000");
        assertThat(r.exit()).as(r.out() + r.err()).isEqualTo(7);
        assertThat(r.err()).contains("the log is full").contains("records appended before are durable");
        noStackTrace(r);
        int appended = Integer.parseInt(r.err().replaceAll("(?s).*the (\\d+) records appended before.*", "$1"));
        assertThat(appended).isEqualTo((SIZE - (int) FIRST_RECORD) / 48);
        CliRun reopen = run(small, "--records", "0", "--json");
        assertThat(reopen.out()).contains("\"recordsBefore\": " + appended);
    }

    @Test
    void badOptionsAreUsageErrorsAndTheHelpListsTheExitStatuses() throws IOException {
        assertThat(run(log, "--records", "-5").exit()).isEqualTo(2);
        CliRun wrongSize = CliRun.of("pmem-log", "--file", log.toString(), "--size", "8192", "--records", "0");
        assertThat(wrongSize.exit()).isEqualTo(2);
        assertThat(wrongSize.err()).contains("pass --size 4096");
        assertThat(Files.readAllBytes(log)).isEqualTo(good);
        CliRun help = CliRun.of("pmem-log", "--help");
        assertThat(help.exit()).isZero();
        assertThat(help.out().replaceAll("\\s+", " ")).contains("5 the log is damaged").contains("6 a file is"
                + " unsafe").contains("7 the log is full");
    }
}
