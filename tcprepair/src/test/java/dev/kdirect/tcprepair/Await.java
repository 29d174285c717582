package dev.kdirect.tcprepair;

import dev.kdirect.contract.TestDeadline;
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
        until(what, DEADLINE_MILLIS, condition);
    }

    /**
     * Until a condition that a working kernel meets at once on loopback (bytes delivered): {@link TestDeadline}'s
     * deadline, 60 s, or a few seconds under mutation testing, where a mutant of the simulated kernel that never
     * delivers should fail the test rather than run into PIT's timeout.
     */
    static void soon(String what, Condition condition) throws Exception {
        until(what, TestDeadline.get().toMillis(), condition);
    }

    private static void until(String what, long millis, Condition condition) throws Exception {
        long deadline = System.nanoTime() + millis * 1_000_000;
        while (!condition.holds()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("not within " + millis + " ms: " + what);
            }
            Thread.sleep(1);
        }
    }

    /** Until the kernel holds {@code bytes} unread bytes for {@code channel} (loopback: {@link #soon}). */
    static void queued(SocketChannel channel, int bytes) throws Exception {
        soon(bytes + " bytes queued for " + channel, () -> channel.socket().getInputStream().available() >= bytes);
    }
}
