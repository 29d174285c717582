package dev.kdirect.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Feature;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code kdirect doctor}: the report agrees with the probes, in text and JSON, and --require sets the exit. */
class DoctorCommandTest {

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @Test
    void jsonReportsEveryFeatureWithTheModeItsProbeFound() {
        CliRun r = run("doctor", "--json");
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
        CliRun r = run("doctor");
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
        CliRun all = run("doctor", "--require", "all");
        assertThat(all.exit()).isEqualTo(allReal ? 0 : 3);
        if (!allReal) {
            assertThat(all.err()).contains("required but not real here");
        }
        CliRun bogus = run("doctor", "--require", "bogus");
        assertThat(bogus.exit()).isEqualTo(2);
        assertThat(bogus.err()).contains("unknown feature 'bogus'").doesNotContain("Exception");
    }
}
