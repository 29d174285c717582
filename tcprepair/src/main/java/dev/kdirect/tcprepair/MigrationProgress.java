package dev.kdirect.tcprepair;

/** Progress of a long migration: {@code done} of {@code total} connections have passed {@code phase}. */
@FunctionalInterface
public interface MigrationProgress {
    /** Reports nothing. */
    MigrationProgress NONE = (phase, done, total) -> { };

    /**
     * @param phase "frozen", "sent", "validated", "restored" (target verdicts received), "committed" at the
     *     source; "received", "restored" at the target
     */
    void progress(String phase, int done, int total);
}
