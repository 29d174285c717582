package dev.kdirect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.ResourceBundle;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link Kernels#forFeature} under each {@link Fallback}, for the features whose probe failed on this host (on a
 * host where all are real, every mode must give the real kernel and log nothing). The warnings go to a recording
 * System.Logger instead of the JVM-wide one, so earlier tests in this JVM cannot have used them up.
 */
class FallbackPolicyTest {
    private String binding;
    private String fallback;
    private final RecordingLogger log = new RecordingLogger();

    @BeforeEach
    void unsetConfiguration() {
        binding = System.clearProperty(Binding.PROPERTY);
        fallback = System.clearProperty(Fallback.PROPERTY);
    }

    @AfterEach
    void restoreConfiguration() {
        restore(Binding.PROPERTY, binding);
        restore(Fallback.PROPERTY, fallback);
    }

    @Test
    void byDefaultEachMissingFeatureLogsExactlyOneWarningOnItsFirstUse() {
        FallbackWarnings warnings = new FallbackWarnings(log);
        for (int round = 0; round < 3; round++) {
            for (Feature f : Feature.values()) {
                Kernel kernel = Kernels.forFeature(f, warnings);
                assertThat(kernel.binding().isReal()).as(f.id()).isEqualTo(f.isAvailable());
            }
        }

        assertThat(log.records).hasSize(missing().size());
        for (int i = 0; i < missing().size(); i++) {
            FeatureStatus status = missing().get(i).status();
            Record record = log.records.get(i);
            assertThat(record.level()).isEqualTo(System.Logger.Level.WARNING);
            assertThat(record.message()).contains("(" + status.feature().id() + ") runs on kdirect's SIMULATED kernel",
                    status.evidence(), "To make it real: " + status.action(), "-Dkdirect.fallback=fail");
        }
        for (Feature f : missing()) {
            assertThat(f.resolution()).isEqualTo(FeatureResolution.SIMULATED_WITH_WARNING);
        }
    }

    @Test
    void failThrowsNamingWhatIsMissingAndTheFixInsteadOfSimulating() {
        System.setProperty(Fallback.PROPERTY, "fail");
        assertRealOrThrows("-Dkdirect.fallback=fail");
    }

    @Test
    void anExplicitRealBindingMeansRealOrFailWhateverTheFallback() {
        System.setProperty(Fallback.PROPERTY, "simulate");
        System.setProperty(Binding.PROPERTY, "ffm");
        assertRealOrThrows("-Dkdirect.binding=ffm names a real binding");
    }

    @Test
    void simulateFallsBackSilently() {
        System.setProperty(Fallback.PROPERTY, "simulate");
        for (Feature f : missing()) {
            assertThat(Kernels.forFeature(f, new FallbackWarnings(log)).binding()).isEqualTo(Binding.SIMULATED);
            assertThat(f.resolution()).isEqualTo(FeatureResolution.SIMULATED);
        }
        assertThat(log.records).isEmpty();
    }

    @Test
    void aForcedSimulatedBindingIsSilentEvenWhenTheFallbackIsFail() {
        System.setProperty(Binding.PROPERTY, "simulated");
        System.setProperty(Fallback.PROPERTY, "fail");
        for (Feature f : Feature.values()) {
            assertThat(Kernels.forFeature(f, new FallbackWarnings(log)).binding()).isEqualTo(Binding.SIMULATED);
            assertThat(f.resolution()).isEqualTo(FeatureResolution.SIMULATED);
        }
        assertThat(log.records).isEmpty();
    }

    @Test
    void anUnknownFallbackNamesTheAcceptedValues() {
        assertThatThrownBy(() -> Fallback.parse("sometimes")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("simulate, warn or fail");
    }

    private void assertRealOrThrows(String why) {
        for (Feature f : Feature.values()) {
            if (f.isAvailable()) {
                assertThat(Kernels.forFeature(f, new FallbackWarnings(log)).binding().isReal()).isTrue();
                assertThat(f.resolution()).isEqualTo(FeatureResolution.REAL);
                continue;
            }
            assertThat(f.resolution()).isEqualTo(FeatureResolution.FAILS);
            Supplier<Kernel> use = () -> Kernels.forFeature(f, new FallbackWarnings(log));
            assertThatThrownBy(use::get).isInstanceOfSatisfying(FeatureUnavailableException.class, e -> {
                assertThat(e.status()).isSameAs(f.status());
                assertThat(e.getMessage()).contains(f.id(), f.status().evidence(), "To fix: " + f.status().action(),
                        why);
            });
        }
        assertThat(log.records).isEmpty();
    }

    private static List<Feature> missing() {
        return Arrays.stream(Feature.values()).filter(f -> !f.isAvailable()).toList();
    }

    private static void restore(String property, String value) {
        if (value == null) {
            System.clearProperty(property);
        } else {
            System.setProperty(property, value);
        }
    }

    private record Record(System.Logger.Level level, String message) {
    }

    /** A System.Logger that keeps what it is given. */
    private static final class RecordingLogger implements System.Logger {
        final List<Record> records = new ArrayList<>();

        @Override
        public String getName() {
            return FallbackWarnings.LOGGER;
        }

        @Override
        public boolean isLoggable(Level level) {
            return true;
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String message, Throwable thrown) {
            records.add(new Record(level, message));
        }

        @Override
        public void log(Level level, ResourceBundle bundle, String format, Object... params) {
            // log(Level, String) arrives here without parameters: the text is the message as given
            records.add(new Record(level, params == null || params.length == 0 ? format
                    : java.text.MessageFormat.format(format, params)));
        }
    }
}
