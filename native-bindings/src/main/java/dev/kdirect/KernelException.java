package dev.kdirect;

import java.io.IOException;

/**
 * A syscall failed: carries the errno (number, symbolic name and description as glibc's strerror gives them),
 * the syscall, its key arguments, and a hint a person can act on.
 *
 * <p>Every backend throws this type with the same errno for the same call: the real kernel through FFM or JNA,
 * and the simulated kernel, which follows the kernel's order of checks. Errno names and descriptions come from
 * jnr-constants, not from a table of kdirect's own.
 */
public class KernelException extends IOException {
    private static final long serialVersionUID = 1L;

    private final int errno;
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
        super(message(errno, syscall, arguments, hint));
        this.errno = errno;
        this.syscall = syscall;
        this.arguments = arguments;
        this.hint = hint == null ? "" : hint;
    }

    /** The errno value, e.g. 22. */
    public int errno() {
        return errno;
    }

    /** The symbolic errno name, e.g. {@code "EINVAL"}. */
    public String errnoName() {
        return ErrnoNames.name(errno);
    }

    /** The description glibc gives, e.g. {@code "Invalid argument"}. */
    public String errnoDescription() {
        return ErrnoNames.description(errno);
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

    /** True when the errno has this symbolic name (e.g. {@code "ENOSPC"}); aliases such as ENOTSUP match too. */
    public boolean is(String errnoName) {
        try {
            return errno == ErrnoNames.value(errnoName);
        } catch (IllegalArgumentException unknownName) {
            return false;
        }
    }

    private static String message(int errno, String syscall, String arguments, String hint) {
        StringBuilder m = new StringBuilder()
                .append(syscall).append('(').append(arguments).append(") failed: ")
                .append(ErrnoNames.name(errno)).append(" (").append(ErrnoNames.description(errno)).append(')');
        if (hint != null && !hint.isEmpty()) {
            m.append(". ").append(hint);
        }
        return m.toString();
    }
}
