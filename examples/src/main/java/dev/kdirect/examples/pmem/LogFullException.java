package dev.kdirect.examples.pmem;

/** An append that does not fit: the log is unchanged, and every record appended before stays durable. */
public final class LogFullException extends IllegalStateException {
    LogFullException(long records, long left, long needed) {
        super("the log is full: it holds " + records + " records, " + left + " bytes are left and the next record"
                + " needs " + needed);
    }
}
