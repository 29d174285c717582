package dev.kdirect.contract;

import dev.kdirect.Binding;
import dev.kdirect.Kernel;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * How long a test waits for something a working kernel does at once (a TCP state reached on loopback, bytes
 * queued, a blocked reader woken): 60 seconds, far beyond what loopback needs here or in the emulated guest, unless
 * the system property {@code kdirect.test.deadline} (whole seconds) says otherwise. Mutation testing sets it to a
 * few seconds (the {@code mutation} profile in pom.xml), so that a mutant of the simulated kernel that never
 * reaches the state, or leaves a call blocked, fails its test at once instead of running into PIT's timeout, which
 * costs a new test JVM.
 *
 * <p>A test method's own bound stays JUnit's {@code @Timeout}: under PIT's coverage run a method can take many
 * seconds before its first wait (class loading with coverage probes), so it cannot be this short. What is bounded
 * is each wait ({@link #get}) and each call on a simulated kernel ({@link #watched}).
 */
public final class TestDeadline {
    /** The system property: the deadline in whole seconds. */
    public static final String PROPERTY = "kdirect.test.deadline";

    private static final Duration DEFAULT = Duration.ofSeconds(60);

    /** Threads in a call on a watched kernel, and when that call's deadline passes (System.nanoTime). */
    private static final Map<Thread, Long> CALLS = new HashMap<>();

    static {
        Thread watchdog = new Thread(TestDeadline::watch, "kdirect-test-deadline");
        watchdog.setDaemon(true);
        watchdog.start();
    }

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

    /**
     * {@code kernel} with every call bounded by the deadline, if it is simulated: a call still running at the
     * deadline (a blocking recv, accept or connect that nothing wakes) is interrupted, which ends the model's
     * blocking wait, and fails with an AssertionError naming the call. A real kernel is returned as it is (a
     * real syscall does not end on an interrupt, and a mutant of the model never blocks it).
     */
    public static Kernel watched(Kernel kernel) {
        if (kernel.binding() != Binding.SIMULATED) {
            return kernel;
        }
        long limit = get().toNanos();
        return (Kernel) Proxy.newProxyInstance(Kernel.class.getClassLoader(), new Class<?>[] {Kernel.class},
                (proxy, method, args) -> {
                    Thread self = Thread.currentThread();
                    synchronized (CALLS) {
                        CALLS.put(self, System.nanoTime() + limit);
                    }
                    Throwable failure = null;
                    Object result = null;
                    try {
                        result = method.invoke(kernel, args);
                    } catch (InvocationTargetException e) {
                        failure = e.getCause();
                    } finally {
                        boolean interrupted;
                        synchronized (CALLS) {
                            interrupted = CALLS.remove(self) == null; // the watchdog took it and interrupted
                            if (interrupted) {
                                Thread.interrupted(); // the rest of the test (closes) runs uninterrupted
                            }
                        }
                        if (interrupted) {
                            AssertionError late = new AssertionError("the simulated kernel's " + method.getName()
                                    + " did not return within " + limit / 1_000_000_000L + " s (-D" + PROPERTY
                                    + "): a blocking call that nothing woke");
                            if (failure != null) {
                                late.initCause(failure);
                            }
                            failure = late;
                        }
                    }
                    if (failure != null) {
                        throw failure;
                    }
                    return result;
                });
    }

    private static void watch() {
        while (true) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            synchronized (CALLS) {
                CALLS.entrySet().removeIf(call -> {
                    if (now - call.getValue() > 0) {
                        call.getKey().interrupt();
                        return true;
                    }
                    return false;
                });
            }
        }
    }
}
