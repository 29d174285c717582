package dev.kdirect.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kdirect kexec}: clear verdicts and errors, JSON, and no reboot without a loaded kernel. */
class KexecCommandTest {

    @TempDir
    Path dir;

    @Test
    void checkRefusesAFileThatIsNoBzImageAsLoadDoesWithoutHeaderFields() throws Exception {
        Path notAKernel = Files.writeString(dir.resolve("notes.txt"), "x".repeat(2000));
        CliRun check = CliRun.of("kexec", "check", "--kernel", notAKernel.toString());
        CliRun load = CliRun.of("kexec", "load", "--kernel", notAKernel.toString());
        assertThat(check.exit()).isEqualTo(load.exit()).isEqualTo(FriendlyErrors.KERNEL_ERROR);
        assertThat(check.out()).as("no header fields for a file that is no bzImage").isEmpty();
        assertThat(check.err()).contains("ENOEXEC").contains("Not a bzImage").doesNotContain("protocol")
                .hasLineCount(1).isEqualTo(load.err().replace("kexec load", "kexec check"));
        CliRun json = CliRun.of("kexec", "check", "--json", "--kernel", notAKernel.toString());
        assertThat(json.out()).isEmpty();
        assertThat(JsonErrorsTest.error(json).get("errno").asText()).isEqualTo("ENOEXEC");
        assertThat(JsonErrorsTest.error(json).get("hint").asText()).contains("Not a bzImage");
    }

    @Test
    void checkOfAMissingFileOrADirectoryGivesTheErrnoOfLoadOnOneLine() throws Exception {
        for (var file : List.of(Map.entry(dir.resolve("nope"), "ENOENT"), Map.entry(dir, "EINVAL"))) {
            CliRun r = CliRun.of("kexec", "check", "--kernel", file.getKey().toString());
            assertThat(r.exit()).as(r.err()).isEqualTo(FriendlyErrors.KERNEL_ERROR);
            assertThat(r.err()).hasLineCount(1).contains(file.getKey().toString()).contains(file.getValue())
                    .doesNotContain("Exception").doesNotContain("bug");
            CliRun json = CliRun.of("kexec", "check", "--json", "--kernel", file.getKey().toString());
            assertThat(JsonErrorsTest.error(json).get("errno").asText()).isEqualTo(file.getValue());
        }
    }

    @Test
    void statusReportsAsJson() {
        CliRun r = CliRun.of("kexec", "status", "--json");
        assertThat(r.exit()).isZero();
        assertThat(r.out()).contains("\"loaded\": ").contains("\"crashSize\": ").contains("\"lockdown\": ");
    }

    @Test
    void rebootWithNothingLoadedSaysWhatToDo() {
        CliRun r = CliRun.of("kexec", "reboot", "--yes-reboot");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("no kernel is loaded: load one first").doesNotContain("Exception");
    }

    @Test
    void loadOfAMissingFileNamesIt() {
        CliRun r = CliRun.of("kexec", "load", "--kernel", dir.resolve("nope").toString());
        assertThat(r.exit()).isEqualTo(FriendlyErrors.KERNEL_ERROR);
        assertThat(r.err()).contains("nope").contains("does not exist");
    }
}
