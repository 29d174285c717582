package dev.kdirect.pkeys;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Binding;
import dev.kdirect.Feature;
import dev.kdirect.contract.ChildJvm;
import dev.kdirect.testing.RequiresRealKernel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A write outside an access window, in a child JVM: the real kernel kills it with SIGSEGV, si_code
 * SEGV_PKUERR (4), and the JVM's hs_err report says so; the simulated kernel raises {@link ProtectionKeyFault}.
 */
class ViolationInChildJvmTest {
    private static final int SEGV_PKUERR = 4;

    @TempDir
    Path dir;

    @Test
    @RequiresRealKernel(Feature.PKEYS)
    void onTheRealKernelTheJvmDiesOfSegvPkuerr() throws Exception {
        Child child = run(Binding.FFM);
        assertThat(child.output).contains("inside the window: ok on ffm");
        assertThat(child.output).doesNotContain("the write went through");
        assertThat(child.exitCode).as(child.output).isNotZero().isNotEqualTo(ViolationProgram.FAULT_EXIT);
        Path report = dir.resolve("hs_err.log");
        assertThat(report).as("the JVM's crash report").exists();
        String crash = Files.readString(report);
        assertThat(crash).contains("SIGSEGV").containsPattern("si_code: " + SEGV_PKUERR + "\\b");
    }

    @Test
    void onTheSimulatedKernelTheSameProgramGetsTheFault() throws Exception {
        Child child = run(Binding.SIMULATED);
        assertThat(child.exitCode).as(child.output).isEqualTo(ViolationProgram.FAULT_EXIT);
        assertThat(child.output).contains("inside the window: ok on simulated")
                .containsPattern("fault: key=\\d+ address=0x[0-9a-f]+ write=true");
        assertThat(dir.resolve("hs_err.log")).doesNotExist();
    }

    private record Child(int exitCode, String output) {
    }

    private Child run(Binding binding) throws Exception {
        List<String> command = new ArrayList<>(List.of(ChildJvm.java(), "-Xshare:auto",
                "-XX:TieredStopAtLevel=1", "-XX:ErrorFile=" + dir.resolve("hs_err.log"), "-XX:-CreateCoredumpOnCrash",
                "--enable-native-access=ALL-UNNAMED", "-Dkdirect.binding=" + binding.id(),
                "-cp", ChildJvm.classPath(ViolationProgram.class, ProtectedRegion.class),
                ViolationProgram.class.getName()));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("child JVM finished").isTrue();
        return new Child(process.exitValue(), output);
    }
}
