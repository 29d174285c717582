package dev.kdirect.examples.pmem;

/**
 * A log image recovery refused: the message says what failed its check. Nothing was written; {@link
 * PmemLog#salvage} reads what is left.
 */
public final class DamagedLogException extends Exception {
    private final boolean formatV1;

    DamagedLogException(String problem, boolean formatV1) {
        super(problem);
        this.formatV1 = formatV1;
    }

    /** The image is a format v1 log: not damaged, but not read either. */
    public boolean formatV1() {
        return formatV1;
    }
}
