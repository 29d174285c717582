package dev.kdirect.backend.jna;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.jna.Native;
import com.sun.jna.Platform;
import dev.kdirect.Credentials;
import dev.kdirect.Feature;
import dev.kdirect.FeatureUnavailableException;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/**
 * JNA registers a class's functions all at once and fails the class when one is missing; the JNA backend keeps
 * such functions in classes of their own and turns that failure into the feature's unavailability, on the first
 * call (ExceptionInInitializerError) and on every later one (NoClassDefFoundError).
 */
class JnaLazyLinkingTest {
    /** A class of functions the C library lacks, as LibPkeys is on a glibc before 2.27. */
    static final class AbsentFunctions {
        static {
            Native.register(AbsentFunctions.class, Platform.C_LIBRARY_NAME);
        }

        private AbsentFunctions() {
        }

        static native int kdirect_no_such_function(int argument);
    }

    @RepeatedTest(2) // the second time the class is already marked as failed: a different LinkageError
    void aPkeyFunctionMissingFromGlibcIsTheUnavailabilityOfPkeys() {
        assertThatThrownBy(() -> JnaBackend.linked("pkey_alloc", () -> AbsentFunctions.kdirect_no_such_function(0)))
                .isInstanceOfSatisfying(FeatureUnavailableException.class, e -> {
                    assertThat(e.status().feature()).isEqualTo(Feature.PKEYS);
                    assertThat(e.getMessage()).contains("glibc has no function pkey_alloc", "glibc 2.27");
                });
    }

    @Test
    void aPresentFunctionIsCalledAsBefore() {
        assertThat(JnaBackend.linked("geteuid", LibC::geteuid)).isEqualTo(Credentials.ofCurrentProcess().euid());
    }
}
