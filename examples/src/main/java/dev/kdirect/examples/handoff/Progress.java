package dev.kdirect.examples.handoff;

import dev.kdirect.tcprepair.MigrationProgress;

/** Passes migration progress on about ten times per phase, however many connections move. */
public record Progress(MigrationProgress printer) implements MigrationProgress {
    @Override
    public void progress(String phase, int done, int total) {
        if (done == total || done % Math.max(1, total / 10) == 0) {
            printer.progress(phase, done, total);
        }
    }
}
