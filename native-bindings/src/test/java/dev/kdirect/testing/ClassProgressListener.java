package dev.kdirect.testing;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/**
 * Prints one line as each test class finishes: how many classes are done, the class, its seconds and its tests.
 * The guest's test run (ci/guest-tests) is long and its console launcher prints the test tree only at the end;
 * these lines are its progress and say where the time goes (ci/guest-test-times is made from them); a failed test is
 * printed when it fails, with its message (a fuzzer's reproduction, for one), and counted on its class's line. Off unless
 * the configuration parameter {@code kdirect.progress} is {@code true}, so Surefire runs stay quiet.
 */
public final class ClassProgressListener implements TestExecutionListener {
    private final Map<String, Long> started = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> testsPerClass = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> failedPerClass = new ConcurrentHashMap<>();
    private final AtomicInteger classesDone = new AtomicInteger();
    private volatile boolean enabled;
    private final Set<String> topLevelClasses = ConcurrentHashMap.newKeySet();

    @Override
    public void testPlanExecutionStarted(TestPlan plan) {
        enabled = plan.getConfigurationParameters().getBoolean("kdirect.progress").orElse(false);
        plan.getRoots().stream().flatMap(engine -> plan.getChildren(engine).stream())
                .filter(child -> child.getSource().filter(ClassSource.class::isInstance).isPresent())
                .forEach(testClass -> topLevelClasses.add(testClass.getUniqueId()));
    }

    @Override
    public void executionStarted(TestIdentifier id) {
        if (enabled && topLevelClasses.contains(id.getUniqueId())) started.put(id.getUniqueId(), System.nanoTime());
    }

    @Override
    public void executionFinished(TestIdentifier id, TestExecutionResult result) {
        if (!enabled) return;
        if (id.isTest()) {
            countTestUnderItsClass(id, testsPerClass);
            if (result.getStatus() != TestExecutionResult.Status.SUCCESSFUL) {
                countTestUnderItsClass(id, failedPerClass);
                System.out.printf("[progress] %s %s: %s%n", result.getStatus(), id.getDisplayName(),
                        result.getThrowable().map(String::valueOf).orElse("(no exception)"));
            }
        }
        Long start = started.remove(id.getUniqueId());
        if (start == null) return;
        String name = ((ClassSource) id.getSource().orElseThrow()).getClassName();
        AtomicInteger tests = testsPerClass.remove(name);
        AtomicInteger failed = failedPerClass.remove(name);
        System.out.printf("[progress] %d/%d %s: %.0f s, %d tests, %s%n", classesDone.incrementAndGet(),
                topLevelClasses.size(), name, (System.nanoTime() - start) / 1e9, tests == null ? 0 : tests.get(),
                failed == null ? result.getStatus() : failed.get() + " FAILED or aborted");
    }

    private static void countTestUnderItsClass(TestIdentifier test, Map<String, AtomicInteger> counts) {
        test.getSource().ifPresent(source -> {
            String className = source instanceof ClassSource c ? c.getClassName()
                    : source instanceof MethodSource m ? m.getClassName() : null;
            if (className != null) {
                counts.computeIfAbsent(className.replaceAll("\\$.*", ""), k -> new AtomicInteger()).incrementAndGet();
            }
        });
    }
}
