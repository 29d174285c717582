package dev.kdirect.examples.handoff;

import java.io.IOException;

/** A process the demo started failed or hung; the message holds what it printed on standard error. */
public final class ChildProcessException extends IOException {
    private static final long serialVersionUID = 1L;

    ChildProcessException(String message) {
        super(message);
    }
}
