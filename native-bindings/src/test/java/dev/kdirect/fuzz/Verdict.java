package dev.kdirect.fuzz;

/**
 * How one program ended when run on both kernels.
 *
 * @param kind what happened
 * @param step the index of the step it ended at (the disagreeing, refused or interfered step), or the program's
 *        length when it agreed
 * @param real the real kernel's outcome of that step, or null
 * @param model the simulated kernel's outcome (for a refusal, the model's message), or null
 */
public record Verdict(Kind kind, int step, String real, String model) {
    /** How a program ended. */
    public enum Kind {
        /** Every step gave the same outcome on both kernels. */
        AGREED,
        /** The model threw UnsupportedOperationException at {@link #step}: it cannot decide, and says so. */
        REFUSED,
        /** The kernels gave different outcomes at {@link #step}. */
        DISAGREED,
        /** The real world could not run {@link #step} safely ({@link Fuzzer#interference}). */
        INTERFERED
    }

    /** The number of calls compared: every step before the one it ended at, and that one if it was compared. */
    int compared() {
        return kind == Kind.AGREED || kind == Kind.DISAGREED ? step + (kind == Kind.DISAGREED ? 1 : 0) : step;
    }
}
