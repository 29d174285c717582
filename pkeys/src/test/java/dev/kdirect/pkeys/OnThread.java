package dev.kdirect.pkeys;

import java.util.concurrent.CompletableFuture;

/** Runs test code on a thread of its own and hands back what it threw, since PKRU is per thread. */
final class OnThread {
    @FunctionalInterface
    interface Action {
        void run() throws Exception;
    }

    private OnThread() {
    }

    /** Starts {@code action} now on a new thread; the future completes with its exception, or null. */
    static CompletableFuture<Throwable> failureOf(Thread.Builder builder, Action action) {
        CompletableFuture<Throwable> failure = new CompletableFuture<>();
        builder.start(() -> {
            try {
                action.run();
                failure.complete(null);
            } catch (Throwable t) {
                failure.complete(t);
            }
        });
        return failure;
    }
}
