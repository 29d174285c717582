package dev.kdirect.contract;

import java.lang.reflect.Method;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.InvocationInterceptor;
import org.junit.jupiter.api.extension.ReflectiveInvocationContext;

/**
 * How long a test waits for something a working kernel does at once (a TCP state reached on loopback, bytes
 * queued, a blocked reader woken): 60 seconds, far beyond what loopback needs here or in the emulated guest, unless
 * the system property {@code kdirect.test.deadline} (whole seconds) says otherwise. Mutation testing sets it to a
 * few seconds (the {@code mutation} profile in pom.xml), so that a mutant of the simulated kernel that never
 * reaches the state fails its test at once instead of running into PIT's timeout, which costs a new test JVM.
 *
 * <p>As an extension ({@code @ExtendWith(TestDeadline.class)}) it also bounds each test method by the deadline,
 * as JUnit's {@code @Timeout} does but with this configurable value: it interrupts the test's thread when the
 * deadline passes (the simulated kernel's blocking calls end on an interrupt; a real blocking syscall does not,
 * but a mutant of the model never blocks the real kernel) and fails the test. A method with its own JUnit
 * {@code @Timeout} (one that moves many bytes and takes seconds on the real kernel too) keeps that instead.
 */
public final class TestDeadline implements InvocationInterceptor {
    /** The system property: the deadline in whole seconds. */
    public static final String PROPERTY = "kdirect.test.deadline";

    private static final Duration DEFAULT = Duration.ofSeconds(60);

    private static final ScheduledExecutorService ALARMS = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "kdirect-test-deadline");
        t.setDaemon(true);
        return t;
    });

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

    @Override
    public void interceptTestMethod(Invocation<Void> invocation, ReflectiveInvocationContext<Method> method,
            ExtensionContext context) throws Throwable {
        bounded(invocation, method.getExecutable());
    }

    @Override
    public void interceptTestTemplateMethod(Invocation<Void> invocation, ReflectiveInvocationContext<Method> method,
            ExtensionContext context) throws Throwable {
        bounded(invocation, method.getExecutable());
    }

    private static void bounded(Invocation<Void> invocation, Method method) throws Throwable {
        if (method.isAnnotationPresent(Timeout.class)) {
            invocation.proceed();
            return;
        }
        String name = method.getName();
        Duration deadline = get();
        Thread test = Thread.currentThread();
        AtomicBoolean fired = new AtomicBoolean();
        ScheduledFuture<?> alarm = ALARMS.schedule(() -> {
            fired.set(true);
            test.interrupt();
        }, deadline.toNanos(), TimeUnit.NANOSECONDS);
        Throwable failure = null;
        try {
            invocation.proceed();
        } catch (Throwable t) {
            failure = t;
        } finally {
            alarm.cancel(false);
        }
        if (fired.get()) {
            Thread.interrupted(); // the next test on this thread starts uninterrupted
            AssertionError late = new AssertionError(name + " did not finish within " + deadline.toSeconds()
                    + " s (-D" + PROPERTY + ")");
            if (failure != null) {
                late.addSuppressed(failure);
            }
            throw late;
        }
        if (failure != null) {
            throw failure;
        }
    }
}
