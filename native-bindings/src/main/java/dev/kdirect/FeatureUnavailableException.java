package dev.kdirect;

/**
 * A feature that must be real is not: the message says what the probe tried, why it failed and what to do.
 * The cause, when present, is the probe's {@link KernelException}.
 */
public class FeatureUnavailableException extends UnsupportedOperationException {
    private static final long serialVersionUID = 1L;

    private final transient FeatureStatus status;

    public FeatureUnavailableException(FeatureStatus status) {
        super(status.feature().title() + " (" + status.feature().id() + ") is not available on this kernel: "
                + status.evidence() + (status.action().isEmpty() ? "" : ". To fix: " + status.action()),
                status.cause());
        this.status = status;
    }

    /** What the probe found. */
    public FeatureStatus status() {
        return status;
    }
}
