package dev.kdirect.contract;

import dev.kdirect.KernelException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The outcomes of a program's steps, recorded rather than asserted, so a test makes the same assertions whether
 * the steps ran in its own JVM (simulated kernel) or in a child JVM with other credentials (real kernel), which
 * prints them one {@code outcome STEP VALUE} line each. An outcome is {@code ok}, a value, or the errno name of a
 * failure; then the failure's hint is the outcome of {@code STEP.hint}.
 */
public final class Outcomes {
    private static final String PREFIX = "outcome ";

    private final Map<String, String> steps = new LinkedHashMap<>();

    /** A step that may fail with a {@link KernelException}. */
    @FunctionalInterface
    public interface Step {
        void run() throws Exception;
    }

    /** Runs the step; its failure is its outcome, never an end to the other steps. */
    public Outcomes step(String name, Step step) throws Exception {
        try {
            step.run();
            steps.put(name, "ok");
        } catch (KernelException e) {
            steps.put(name, e.errnoName());
            steps.put(name + ".hint", String.valueOf(e.hint()).replace('\n', ' '));
        }
        return this;
    }

    /** Records a value read. */
    public Outcomes put(String name, Object value) {
        steps.put(name, String.valueOf(value));
        return this;
    }

    public Map<String, String> asMap() {
        return Map.copyOf(steps);
    }

    /** Prints the outcomes for {@link #parse}. */
    public void print() {
        steps.forEach((step, outcome) -> System.out.println(PREFIX + step + " " + outcome));
    }

    /** The outcomes a child printed. */
    public static Map<String, String> parse(String output) {
        Map<String, String> steps = new HashMap<>();
        output.lines().filter(l -> l.startsWith(PREFIX)).forEach(l -> {
            String[] stepAndOutcome = l.substring(PREFIX.length()).split(" ", 2);
            steps.put(stepAndOutcome[0], stepAndOutcome.length > 1 ? stepAndOutcome[1] : "");
        });
        return steps;
    }
}
