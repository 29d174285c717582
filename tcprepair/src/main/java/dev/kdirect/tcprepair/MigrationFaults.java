package dev.kdirect.tcprepair;

/**
 * A test hook, package-private and inert in production: each side of a migration calls {@link #at} at every step
 * before COMMIT ("source frozen", "target restored", ...: the names are at the calls), and a test that sets
 * {@link #hook} can fail a step there with any Throwable (an OutOfMemoryError, say) to check that the session rolls
 * back fully on both sides, or record the steps a side reached.
 */
final class MigrationFaults {
    /** What a step does besides its work; null (nothing) outside tests. */
    static volatile java.util.function.Consumer<String> hook;

    private MigrationFaults() {
    }

    static void at(String step) {
        var h = hook;
        if (h != null) {
            h.accept(step);
        }
    }
}
