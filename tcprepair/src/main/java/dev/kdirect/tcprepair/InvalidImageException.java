package dev.kdirect.tcprepair;

import java.io.IOException;

/**
 * A connection image that cannot be restored: nothing was built from it. {@link #reason()} says which kind of
 * problem, the message what exactly and what to do.
 */
public final class InvalidImageException extends IOException {
    private static final long serialVersionUID = 1L;

    /** The kinds of invalid image. */
    public enum Reason {
        /** Shorter than its header or than the length it declares: cut off in transit or storage. */
        TRUNCATED,
        /** The checksum does not match, or bytes follow the declared end: changed after it was written. */
        CORRUPTED,
        /** Not a kdirect connection image at all (wrong magic). */
        FOREIGN,
        /** Written by a newer kdirect with a format version this one does not read. */
        FUTURE_VERSION,
        /** Intact, but a field holds a value no connection can have. */
        INVALID_FIELD
    }

    private final Reason reason;

    InvalidImageException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    /** Which kind of problem. */
    public Reason reason() {
        return reason;
    }
}
