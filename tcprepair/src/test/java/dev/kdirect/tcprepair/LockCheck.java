package dev.kdirect.tcprepair;

import java.util.List;

/**
 * Runs a lock observation inside a migration's progress callback, which must not throw (it runs on the
 * migration's threads): whatever goes wrong becomes one more violation, asserted after the migration.
 */
final class LockCheck {
    @FunctionalInterface
    interface Observation {
        List<String> violations() throws Exception;
    }

    private LockCheck() {
    }

    static List<String> run(Observation observation) {
        try {
            return observation.violations();
        } catch (Exception | AssertionError e) {
            return List.of("the lock could not be observed: " + e);
        }
    }
}
