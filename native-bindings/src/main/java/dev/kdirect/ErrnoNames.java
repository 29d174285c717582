package dev.kdirect;

import jnr.constants.platform.Errno;

/**
 * Symbolic errno names and descriptions from jnr-constants (the platform's own values), and the reverse lookup
 * the simulated kernel uses to return the same numbers as the running Linux.
 */
public final class ErrnoNames {
    private ErrnoNames() {
    }

    /**
     * The symbolic name of an errno value, e.g. 22 -> {@code "EINVAL"}; {@code "errno N"} when unknown. Where
     * POSIX has two names for one Linux value, the kernel's is used: 95 is EOPNOTSUPP (jnr-constants lists it
     * as its alias ENOTSUP).
     */
    public static String name(int errno) {
        Errno e = Errno.valueOf(errno);
        if (e == null || !e.defined()) {
            return "errno " + errno;
        }
        return e == Errno.ENOTSUP ? Errno.EOPNOTSUPP.name() : e.name();
    }

    /** The description of an errno value, e.g. 22 -> {@code "Invalid argument"}. */
    public static String description(int errno) {
        Errno e = Errno.valueOf(errno);
        return e != null && e.defined() ? e.description() : "unknown error " + errno;
    }

    /**
     * The value of a symbolic errno name on this platform, e.g. {@code "ENOMEM"} -> 12.
     *
     * @throws IllegalArgumentException if the name is not an errno of this platform
     */
    public static int value(String name) {
        Errno e = Errno.valueOf(name);
        if (!e.defined()) {
            throw new IllegalArgumentException(name + " is not defined on this platform");
        }
        return e.intValue();
    }
}
