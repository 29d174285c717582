package dev.kdirect.tcprepair;

import java.io.IOException;

/** The repair helper refused a request, failed it, or cannot be reached or trusted. */
public final class RepairHelperException extends IOException {
    private static final long serialVersionUID = 1L;

    public RepairHelperException(String message) {
        super(message);
    }

    public RepairHelperException(String message, Throwable cause) {
        super(message, cause);
    }
}
