package dev.kdirect;

import java.io.IOException;

/**
 * A syscall failed: carries the {@link Errno} (number, symbolic name and description as glibc's strerror gives
 * them), the syscall, its key arguments, and a hint a person can act on.
 *
 * <p>Every backend throws this type with the same errno for the same call: the real kernel through FFM or JNA,
 * and the simulated kernel, which follows the kernel's order of checks. Test for an errno with
 * {@code e.is(Errno.ENOSPC)} or {@code e.error() == Errno.ENOSPC}.
 */
public class KernelException extends IOException {
    private static final long serialVersionUID = 1L;

    private final int errno; // the value, as Errno is not serializable
    private final String syscall;
    private final String arguments;
    private final String hint;

    /**
     * @param errno the positive errno value
     * @param syscall the syscall that failed, e.g. {@code "mprotect"}
     * @param arguments its key arguments as text, e.g. {@code "addr=0x7f00, length=4096, prot=READ"}
     * @param hint what a person can do about it, or an empty string
     */
    public KernelException(int errno, String syscall, String arguments, String hint) {
        this(Errno.of(errno), syscall, arguments, hint);
    }

    /**
     * @param errno the errno
     * @param syscall the syscall that failed, e.g. {@code "mprotect"}
     * @param arguments its key arguments as text, e.g. {@code "addr=0x7f00, length=4096, prot=READ"}
     * @param hint what a person can do about it, or an empty string
     */
    public KernelException(Errno errno, String syscall, String arguments, String hint) {
        super(message(errno, syscall, arguments, hint));
        this.errno = errno.value();
        this.syscall = syscall;
        this.arguments = arguments;
        this.hint = hint == null ? "" : hint;
    }

    /** The errno, e.g. {@link Errno#EINVAL}. */
    public Errno error() {
        return Errno.of(errno);
    }

    /** True when the call failed with this errno (aliases are the same constant: ENOTSUP is EOPNOTSUPP). */
    public boolean is(Errno expected) {
        return errno == expected.value();
    }

    /** The errno value, e.g. 22. */
    public int errno() {
        return errno;
    }

    /** The symbolic errno name, e.g. {@code "EINVAL"}, for messages. */
    public String errnoName() {
        return error().name();
    }

    /** The description glibc gives, e.g. {@code "Invalid argument"}. */
    public String errnoDescription() {
        return error().description();
    }

    /** The syscall that failed. */
    public String syscall() {
        return syscall;
    }

    /** The key arguments of the failed call, as text. */
    public String arguments() {
        return arguments;
    }

    /** What a person can do about it; empty when there is nothing better than the errno. */
    public String hint() {
        return hint;
    }

    private static String message(Errno errno, String syscall, String arguments, String hint) {
        StringBuilder m = new StringBuilder()
                .append(syscall).append('(').append(arguments).append(") failed: ")
                .append(errno.name()).append(" (").append(errno.description()).append(')');
        if (hint != null && !hint.isEmpty()) {
            m.append(". ").append(hint);
        }
        return m.toString();
    }
}
