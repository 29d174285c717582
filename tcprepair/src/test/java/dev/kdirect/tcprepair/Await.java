package dev.kdirect.tcprepair;

import java.nio.channels.SocketChannel;

/**
 * Waits on a condition instead of sleeping for a guessed time: polls until it holds, and fails only past a
 * deadline far beyond anything a working system needs (the emulated QEMU guest included), saying what never
 * happened.
 */
final class Await {
    /** Far beyond any wait here on the host (milliseconds) or in the guest under TCG (seconds). */
    static final long DEADLINE_MILLIS = 60_000;

    @FunctionalInterface
    interface Condition {
        boolean holds() throws Exception;
    }

    private Await() {
    }

    static void until(String what, Condition condition) throws Exception {
        long deadline = System.nanoTime() + DEADLINE_MILLIS * 1_000_000;
        while (!condition.holds()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("not within " + DEADLINE_MILLIS + " ms: " + what);
            }
            Thread.sleep(1);
        }
    }

    /** Until the kernel holds {@code bytes} unread bytes for {@code channel}. */
    static void queued(SocketChannel channel, int bytes) throws Exception {
        until(bytes + " bytes queued for " + channel, () -> channel.socket().getInputStream().available() >= bytes);
    }
}
