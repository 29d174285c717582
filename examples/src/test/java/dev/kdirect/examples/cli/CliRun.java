package dev.kdirect.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** Runs the CLI in this JVM and captures what it printed. */
record CliRun(int exit, String out, String err) {

    /**
     * Runs the CLI on the real kernel (FFM) and then on the simulated one (which reaches the host's files through
     * NIO) as every feature's kernel; both must exit alike. Returns the real kernel's run.
     */
    static CliRun onRealAndSimulated(String... args) {
        CliRun real = null;
        for (Kernel kernel : List.of(Kernels.ffm(), Kernels.simulated())) {
            Kernels.overrideForTesting(kernel);
            try {
                CliRun r = of(args);
                assertThat(real == null || r.exit() == real.exit()).as("%s: %s%s", kernel, r.out(), r.err()).isTrue();
                real = real == null ? r : real;
            } finally {
                Kernels.clearOverride();
            }
        }
        return real;
    }

    static CliRun of(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int exit = Main.run(args);
            return new CliRun(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }
}
