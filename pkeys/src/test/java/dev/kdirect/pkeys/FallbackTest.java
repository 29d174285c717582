package dev.kdirect.pkeys;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Feature;
import dev.kdirect.contract.ChildJvm;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@link ProtectionKey#allocate()} in a fresh JVM, as a service calls it, under the default fallback and under
 * {@code -Dkdirect.fallback=fail}: where PKU is missing the default logs one WARNING (through System.Logger, to
 * the JDK's console handler) however many keys are allocated, and fail refuses with the missing CPU flag. Where
 * PKU is real, both give keys on the real kernel and log nothing.
 */
class FallbackTest {
    private static final String WARNING = "WARNING: memory protection keys (pkeys) runs on kdirect's SIMULATED kernel";

    @Test
    void byDefaultAMissingPkuIsOneWarningAndKeysOnTheSimulatedKernel() throws Exception {
        Child child = run(List.of());
        assertThat(child.exitCode).as(child.output).isZero();
        String kernel = Feature.PKEYS.isAvailable() ? "ffm" : "simulated";
        assertThat(child.output.lines().filter(l -> l.equals("key 1 on " + kernel))).as(child.output).hasSize(3);
        long warnings = Pattern.compile(Pattern.quote(WARNING)).matcher(child.output).results().count();
        assertThat(warnings).as(child.output).isEqualTo(Feature.PKEYS.isAvailable() ? 0 : 1);
    }

    @Test
    void withFallbackFailAMissingPkuThrowsNamingTheCpuFlag() throws Exception {
        Child child = run(List.of("-Dkdirect.fallback=fail"));
        if (Feature.PKEYS.isAvailable()) {
            assertThat(child.exitCode).as(child.output).isZero();
            assertThat(child.output).contains("key 1 on ffm").doesNotContain(WARNING);
            return;
        }
        assertThat(child.exitCode).as(child.output).isEqualTo(FallbackProgram.UNAVAILABLE_EXIT);
        assertThat(child.output).contains("unavailable: memory protection keys (pkeys) is not available",
                "To fix: " + Feature.PKEYS.status().action(), "-Dkdirect.fallback=fail").doesNotContain(WARNING);
        if (!cpuHasPku()) {
            assertThat(child.output).contains("no 'pku' flag in /proc/cpuinfo");
        }
    }

    private static boolean cpuHasPku() throws Exception {
        return Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
                .anyMatch(l -> l.startsWith("flags") && List.of(l.split("\\s+")).contains("pku"));
    }

    private record Child(int exitCode, String output) {
    }

    private static Child run(List<String> options) throws Exception {
        List<String> command = new ArrayList<>(List.of(ChildJvm.java(), "-Xshare:auto", "-XX:TieredStopAtLevel=1",
                "--enable-native-access=ALL-UNNAMED"));
        command.addAll(options);
        command.addAll(List.of("-cp", ChildJvm.classPath(FallbackProgram.class, ProtectionKey.class),
                FallbackProgram.class.getName()));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("child JVM finished").isTrue();
        return new Child(process.exitValue(), output);
    }
}
