package dev.kdirect;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.contract.ChildJvm;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A JVM that denies native access: kdirect says in one line which flag to add, instead of a stack of causes. */
class NativeAccessTest {

    @Test
    void deniedNativeAccessIsOneLineNamingTheFlagForTheClassPath() throws Exception {
        Process process = new ProcessBuilder(ChildJvm.java(), "-Xshare:auto", "-XX:TieredStopAtLevel=1",
                "--illegal-native-access=deny", "-cp", ChildJvm.classPath(NativeAccessProgram.class, Kernels.class),
                NativeAccessProgram.class.getName()).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("child JVM finished").isTrue();
        assertThat(process.exitValue()).as(output).isZero();

        List<String> lines = output.lines().toList();
        for (String path : List.of("ffm: ", "mmap: ")) {
            assertThat(lines).as(output).filteredOn(l -> l.startsWith(path)).singleElement().asString()
                    .contains("kdirect needs native access", "add --enable-native-access=ALL-UNNAMED");
        }
    }

    @Test
    void onTheModulePathTheFlagNamesEveryModuleThatCallsRestrictedMethods() {
        // the tests run on the class path, where kdirect is in the unnamed module
        assertThat(NativeAccess.flag()).isEqualTo("--enable-native-access=ALL-UNNAMED");
        assertThat(NativeAccess.MODULES).contains("dev.kdirect", "dev.kdirect.pkeys");
    }
}
