package dev.kdirect.tcprepair;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** A target's {@code accept()} on a platform thread of its own, so a test can drive the source meanwhile. */
final class Accepting {
    private Accepting() {
    }

    static CompletableFuture<List<MigrationTarget.Incoming>> start(MigrationTarget target) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return target.accept();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, r -> Thread.ofPlatform().start(r));
    }
}
