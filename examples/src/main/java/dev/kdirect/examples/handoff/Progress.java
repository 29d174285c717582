package dev.kdirect.examples.handoff;

import dev.kdirect.tcprepair.MigrationProgress;
import java.io.PrintStream;

/** Prints migration progress as "phase N of M", about ten lines per phase however many connections move. */
public record Progress(PrintStream out, String who) implements MigrationProgress {
    @Override
    public void progress(String phase, int done, int total) {
        if (done == total || done % Math.max(1, total / 10) == 0) {
            out.println("PROGRESS " + who + " " + phase + " " + done + " of " + total);
        }
    }
}
