package dev.kdirect.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Feature;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code kdirect doctor}: the report agrees with the probes, in text and JSON, and --require sets the exit. */
class DoctorCommandTest {

    private record Result(int exit, String out, String err) {
    }

    private static Result run(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int exit = Main.run(args);
            return new Result(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void jsonReportsEveryFeatureWithTheModeItsProbeFound() {
        Result r = run("doctor", "--json");
        assertThat(r.exit()).isZero();
        for (Feature f : Feature.values()) {
            Matcher m = Pattern.compile("\"" + f.id() + "\": \\{[^}]*\"mode\": \"(real|simulated)\"").matcher(r.out());
            assertThat(m.find()).as("feature %s in %s", f.id(), r.out()).isTrue();
            boolean real = f.isAvailable() && dev.kdirect.Binding.configured().isReal();
            assertThat(m.group(1)).isEqualTo(real ? "real" : "simulated");
        }
        assertThat(r.out().trim()).startsWith("{").endsWith("}");
    }

    @Test
    void textNamesTheActionForEverySimulatedFeature() {
        Result r = run("doctor");
        for (Feature f : Feature.values()) {
            assertThat(r.out()).contains(f.id());
            if (!f.isAvailable()) {
                assertThat(r.out()).contains(f.status().action());
            }
        }
    }

    @Test
    void requireFailsWithExit3WhenAFeatureIsNotRealAndRejectsUnknownNames() {
        boolean allReal = java.util.Arrays.stream(Feature.values()).allMatch(Feature::isAvailable)
                && dev.kdirect.Binding.configured().isReal();
        Result all = run("doctor", "--require", "all");
        assertThat(all.exit()).isEqualTo(allReal ? 0 : 3);
        if (!allReal) {
            assertThat(all.err()).contains("required but not real here");
        }
        Result bogus = run("doctor", "--require", "bogus");
        assertThat(bogus.exit()).isEqualTo(2);
        assertThat(bogus.err()).contains("unknown feature 'bogus'").doesNotContain("Exception");
    }
}
