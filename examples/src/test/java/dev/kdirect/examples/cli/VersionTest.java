package dev.kdirect.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** {@code kdirect -V}: the Maven project version (filtered into version.properties), never a placeholder. */
class VersionTest {

    @Test
    void printsTheProjectVersionAndTheJavaVersion() {
        CliRun r = CliRun.of("-V");
        assertThat(r.exit()).isZero();
        assertThat(r.out().trim())
                .matches("kdirect [0-9]+\\.[0-9]+\\.[0-9]+(-SNAPSHOT)? on Java .+")
                .endsWith(Runtime.version().toString());
    }
}
