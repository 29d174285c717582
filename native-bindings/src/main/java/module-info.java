/**
 * kdirect native-bindings: the {@link dev.kdirect.Kernel} seam (one method per Linux syscall), its three
 * backends (Panama FFM, JNA, and the simulated kernel) and the feature probes.
 *
 * <p>Public API: {@code dev.kdirect} (the seam, errors, constants, feature availability) and
 * {@code dev.kdirect.testing} (a JUnit 5 extension for users' tests). The backends and probes are hidden.
 */
module dev.kdirect {
    requires com.sun.jna;
    requires org.jnrproject.constants;
    requires static org.junit.jupiter.api;

    exports dev.kdirect;
    exports dev.kdirect.rules;
    exports dev.kdirect.testing;
}
