package dev.kdirect.tcprepair;

import java.io.IOException;

/** The network lock could not be taken or released; the message says why and what to do. */
public final class NetworkLockException extends IOException {
    private static final long serialVersionUID = 1L;

    NetworkLockException(String message) {
        super(message);
    }
}
