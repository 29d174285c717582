package dev.kdirect.tcprepair;

import java.io.IOException;

/**
 * A held network lock: this process's own nftables table ({@link NetworkLock}), or one a repair helper holds for it
 * ({@link RepairHelperClient#lock}).
 */
public sealed interface ConnectionLock extends AutoCloseable permits NetworkLock, RepairHelperClient.Lock {
    /** Lets the connections' packets pass again. Idempotent. */
    @Override
    void close() throws IOException;

    /** What removes the lock when {@link #close} failed: a command, or who removes it. */
    String removal();
}
