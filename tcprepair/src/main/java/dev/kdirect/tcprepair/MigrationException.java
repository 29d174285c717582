package dev.kdirect.tcprepair;

import java.io.IOException;

/** A migration session failed (protocol error, the other side hung, aborted or died); see the message. */
public final class MigrationException extends IOException {
    private static final long serialVersionUID = 1L;

    MigrationException(String message) {
        super(message);
    }

    MigrationException(String message, Throwable cause) {
        super(message, cause);
    }
}
