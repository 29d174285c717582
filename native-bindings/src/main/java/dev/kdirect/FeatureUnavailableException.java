package dev.kdirect;

/**
 * A feature that must be real is not: the message says what the probe tried, why it failed and what to do.
 * The cause, when present, is the probe's {@link KernelException}.
 */
public class FeatureUnavailableException extends UnsupportedOperationException {
    private static final long serialVersionUID = 1L;

    private final transient FeatureStatus status;

    /** The feature of {@code status} is missing; the message is the probe's evidence and action. */
    public FeatureUnavailableException(FeatureStatus status) {
        this(status, "");
    }

    /**
     * The feature of {@code status} is missing and kdirect refused to fall back to the simulated kernel.
     *
     * @param why why there was no fallback (the fallback policy, or an explicit binding); empty for none
     */
    public FeatureUnavailableException(FeatureStatus status, String why) {
        super(status.feature().title() + " (" + status.feature().id() + ") is not available on this kernel: "
                + status.evidence() + (status.action().isEmpty() ? "" : ". To fix: " + status.action())
                + (why.isEmpty() ? "" : ". " + why), status.cause());
        this.status = status;
    }

    /** What the probe found. */
    public FeatureStatus status() {
        return status;
    }
}
