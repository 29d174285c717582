package dev.kdirect.contract;

import java.time.Duration;

/**
 * How long a test waits for something a working kernel does at once (a TCP state reached on loopback, bytes
 * queued, a blocked reader woken): 60 seconds, far beyond what loopback needs here or in the emulated guest, unless
 * the system property {@code kdirect.test.deadline} (whole seconds) says otherwise. Mutation testing sets it to a
 * few seconds (the {@code mutation} profile in pom.xml), so that a mutant of the simulated kernel that never
 * reaches the state fails its test at once instead of running into PIT's timeout, which costs a new test JVM.
 * A test method's own bound stays JUnit's {@code @Timeout}: under PIT's coverage run a method can take many
 * seconds before its first wait (class loading with coverage probes), so it cannot be this short.
 */
public final class TestDeadline {
    /** The system property: the deadline in whole seconds. */
    public static final String PROPERTY = "kdirect.test.deadline";

    private static final Duration DEFAULT = Duration.ofSeconds(60);

    private TestDeadline() {
    }

    /** The deadline: {@value #PROPERTY} seconds, 60 when it is not set. */
    public static Duration get() {
        String value = System.getProperty(PROPERTY);
        if (value == null || value.isBlank()) {
            return DEFAULT;
        }
        try {
            long seconds = Long.parseLong(value.trim());
            if (seconds <= 0) {
                throw new NumberFormatException("not positive");
            }
            return Duration.ofSeconds(seconds);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + PROPERTY + "=" + value
                    + ": give the deadline in whole seconds, e.g. -D" + PROPERTY + "=5", e);
        }
    }
}
