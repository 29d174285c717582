package dev.kdirect.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code kdirect kexec}: clear verdicts and errors, JSON, and no reboot without a loaded kernel. */
class KexecCommandTest {

    @TempDir
    Path dir;

    @Test
    void checkGivesTheKernelsVerdictAndMessage() throws Exception {
        Path notAKernel = Files.writeString(dir.resolve("notes.txt"), "x".repeat(2000));
        CliRun text = CliRun.of("kexec", "check", "--kernel", notAKernel.toString());
        assertThat(text.exit()).isEqualTo(FriendlyErrors.KERNEL_ERROR);
        assertThat(text.out()).contains("ENOEXEC").contains("Not a bzImage");
        CliRun json = CliRun.of("kexec", "check", "--json", "--kernel", notAKernel.toString());
        assertThat(json.out()).contains("\"verdict\": \"ENOEXEC\"").contains("\"kernelMessage\": \"Not a bzImage\"");
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
