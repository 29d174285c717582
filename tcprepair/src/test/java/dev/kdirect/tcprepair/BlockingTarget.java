package dev.kdirect.tcprepair;

import java.nio.file.Path;

/**
 * A migration target in its own JVM that stops for good when it reaches a phase with every connection
 * ("received": images in, no verdict sent; "restored": restored and frozen here, verdict not sent), prints
 * BLOCKED, and waits to be killed. Arguments: socket path, phase.
 */
public final class BlockingTarget {
    private BlockingTarget() {
    }

    public static void main(String[] args) throws Exception {
        String phase = args[1];
        try (MigrationTarget target = MigrationTarget.listen(Path.of(args[0]))) {
            target.progress((p, done, total) -> {
                if (p.equals(phase) && done == total) {
                    System.out.println("BLOCKED " + phase);
                    try {
                        Thread.sleep(Long.MAX_VALUE);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            });
            System.out.println("LISTENING");
            target.accept();
        }
    }
}
