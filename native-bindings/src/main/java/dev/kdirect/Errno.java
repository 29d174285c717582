package dev.kdirect;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Comparator;
import java.util.Map;
import java.util.TreeMap;

/**
 * An errno: the positive error number a syscall failed with, its symbolic name and glibc's description.
 *
 * <p>Values come from the running platform through jnr-constants, not from a table of kdirect's own, so
 * {@code Errno.EINVAL.value()} is the number this Linux returns. Each value the platform defines has one
 * instance: compare with {@code ==}, {@link #equals} or {@link KernelException#is(Errno)}. Names the kernel gives one value twice are one constant:
 * {@link #ENOTSUP} is {@link #EOPNOTSUPP} (95, named EOPNOTSUPP as the kernel does) and {@link #EWOULDBLOCK} is
 * {@link #EAGAIN}. The constants below are the errnos kdirect's features name; {@link #of(int)} gives any
 * other value the platform defines, or an instance named {@code "errno N"} for a value it does not.
 */
public final class Errno {
    /** Every value the platform defines, keyed by number; the kernel's name where POSIX has two. */
    private static final Map<Integer, Errno> BY_VALUE = platformValues();

    /** Operation not permitted (a capability is missing). */
    public static final Errno EPERM = named(jnr.constants.platform.Errno.EPERM);
    /** No such file or directory. */
    public static final Errno ENOENT = named(jnr.constants.platform.Errno.ENOENT);
    /** Input/output error. */
    public static final Errno EIO = named(jnr.constants.platform.Errno.EIO);
    /** Exec format error: for kexec, not a kernel image this kernel loads. */
    public static final Errno ENOEXEC = named(jnr.constants.platform.Errno.ENOEXEC);
    /** Bad file descriptor. */
    public static final Errno EBADF = named(jnr.constants.platform.Errno.EBADF);
    /** Resource temporarily unavailable (also EWOULDBLOCK). */
    public static final Errno EAGAIN = named(jnr.constants.platform.Errno.EAGAIN);
    /** Alias of {@link #EAGAIN}: the same value and instance. */
    public static final Errno EWOULDBLOCK = EAGAIN;
    /** Cannot allocate memory, or part of an address range is not mapped. */
    public static final Errno ENOMEM = named(jnr.constants.platform.Errno.ENOMEM);
    /** Permission denied. */
    public static final Errno EACCES = named(jnr.constants.platform.Errno.EACCES);
    /** Bad address. */
    public static final Errno EFAULT = named(jnr.constants.platform.Errno.EFAULT);
    /** Device or resource busy. */
    public static final Errno EBUSY = named(jnr.constants.platform.Errno.EBUSY);
    /** File exists. */
    public static final Errno EEXIST = named(jnr.constants.platform.Errno.EEXIST);
    /** No such device. */
    public static final Errno ENODEV = named(jnr.constants.platform.Errno.ENODEV);
    /** Not a directory. */
    public static final Errno ENOTDIR = named(jnr.constants.platform.Errno.ENOTDIR);
    /** Is a directory. */
    public static final Errno EISDIR = named(jnr.constants.platform.Errno.EISDIR);
    /** Invalid argument. */
    public static final Errno EINVAL = named(jnr.constants.platform.Errno.EINVAL);
    /** Too many open files. */
    public static final Errno EMFILE = named(jnr.constants.platform.Errno.EMFILE);
    /** Text file busy: the file is open for writing. */
    public static final Errno ETXTBSY = named(jnr.constants.platform.Errno.ETXTBSY);
    /** File too large. */
    public static final Errno EFBIG = named(jnr.constants.platform.Errno.EFBIG);
    /** No space left on device; for pkey_alloc, no free protection key. */
    public static final Errno ENOSPC = named(jnr.constants.platform.Errno.ENOSPC);
    /** Illegal seek. */
    public static final Errno ESPIPE = named(jnr.constants.platform.Errno.ESPIPE);
    /** Broken pipe. */
    public static final Errno EPIPE = named(jnr.constants.platform.Errno.EPIPE);
    /** Function not implemented: the kernel lacks the syscall or the CPU the feature. */
    public static final Errno ENOSYS = named(jnr.constants.platform.Errno.ENOSYS);
    /** File name too long (a path of PATH_MAX bytes or more, a name longer than NAME_MAX). */
    public static final Errno ENAMETOOLONG = named(jnr.constants.platform.Errno.ENAMETOOLONG);
    /** Too many levels of symbolic links (O_NOFOLLOW on a link). */
    public static final Errno ELOOP = named(jnr.constants.platform.Errno.ELOOP);
    /** Value too large for defined data type. */
    public static final Errno EOVERFLOW = named(jnr.constants.platform.Errno.EOVERFLOW);
    /** Socket operation on non-socket. */
    public static final Errno ENOTSOCK = named(jnr.constants.platform.Errno.ENOTSOCK);
    /** Message too long. */
    public static final Errno EMSGSIZE = named(jnr.constants.platform.Errno.EMSGSIZE);
    /** Protocol not available: the kernel does not know the socket option. */
    public static final Errno ENOPROTOOPT = named(jnr.constants.platform.Errno.ENOPROTOOPT);
    /** Protocol not supported. */
    public static final Errno EPROTONOSUPPORT = named(jnr.constants.platform.Errno.EPROTONOSUPPORT);
    /** Operation not supported (95; POSIX also calls it ENOTSUP). */
    public static final Errno EOPNOTSUPP = named(jnr.constants.platform.Errno.EOPNOTSUPP);
    /** Alias of {@link #EOPNOTSUPP}: the same value and instance. */
    public static final Errno ENOTSUP = EOPNOTSUPP;
    /** Address family not supported by protocol. */
    public static final Errno EAFNOSUPPORT = named(jnr.constants.platform.Errno.EAFNOSUPPORT);
    /** Address already in use. */
    public static final Errno EADDRINUSE = named(jnr.constants.platform.Errno.EADDRINUSE);
    /** Cannot assign requested address. */
    public static final Errno EADDRNOTAVAIL = named(jnr.constants.platform.Errno.EADDRNOTAVAIL);
    /** Connection reset by peer. */
    public static final Errno ECONNRESET = named(jnr.constants.platform.Errno.ECONNRESET);
    /** No buffer space available. */
    public static final Errno ENOBUFS = named(jnr.constants.platform.Errno.ENOBUFS);
    /** Transport endpoint is already connected. */
    public static final Errno EISCONN = named(jnr.constants.platform.Errno.EISCONN);
    /** Transport endpoint is not connected. */
    public static final Errno ENOTCONN = named(jnr.constants.platform.Errno.ENOTCONN);
    /** Connection refused: nothing listens there. */
    public static final Errno ECONNREFUSED = named(jnr.constants.platform.Errno.ECONNREFUSED);
    /** Operation now in progress (a non-blocking connect). */
    public static final Errno EINPROGRESS = named(jnr.constants.platform.Errno.EINPROGRESS);
    /** Key was rejected by service: the kernel requires a signed image. */
    public static final Errno EKEYREJECTED = named(jnr.constants.platform.Errno.EKEYREJECTED);
    /** Memory page has hardware error: a poisoned page. */
    public static final Errno EHWPOISON = named(jnr.constants.platform.Errno.EHWPOISON);

    private final int value;
    private final String name;
    private final String description;

    private Errno(int value, String name, String description) {
        this.value = value;
        this.name = name;
        this.description = description;
    }

    /**
     * The errno with this value: one of the constants, another value the platform defines, or, for a value it
     * does not define, an errno named {@code "errno N"}.
     *
     * @param value the positive errno value, e.g. 22
     */
    public static Errno of(int value) {
        Errno known = BY_VALUE.get(value);
        return known != null ? known : new Errno(value, "errno " + value, "unknown error " + value);
    }

    /**
     * The errno a file operation of the JDK failed with, which its exceptions carry only as a type or as
     * strerror's words (a {@link FileSystemException}'s reason): {@link #EIO} when neither names one.
     *
     * @param failure what a {@code java.nio.file} or {@code java.io} operation threw
     */
    public static Errno of(IOException failure) {
        return switch (failure) {
            case KernelException k -> k.error();
            case NoSuchFileException _ -> ENOENT;
            case FileAlreadyExistsException _ -> EEXIST;
            case AccessDeniedException _ -> EACCES;
            case NotDirectoryException _ -> ENOTDIR;
            case FileSystemException f when f.getReason() != null -> described(f.getReason());
            default -> failure.getMessage() == null ? EIO : described(failure.getMessage());
        };
    }

    /**
     * The errno whose strerror text starts the reason ("Too many levels of symbolic links or unable to ..."),
     * the longest such text where one starts another ("No such device" and "No such device or address").
     */
    private static Errno described(String reason) {
        return BY_VALUE.values().stream()
                .filter(e -> reason.startsWith(e.description()))
                .max(Comparator.comparingInt(e -> e.description().length()))
                .orElse(EIO);
    }

    /** The positive errno value on this platform, e.g. 22 for EINVAL. */
    public int value() {
        return value;
    }

    /** The symbolic name, e.g. {@code "EINVAL"}: the kernel's where POSIX has two ({@code "EOPNOTSUPP"}). */
    public String name() {
        return name;
    }

    /** The description glibc's strerror gives, e.g. {@code "Invalid argument"}. */
    public String description() {
        return description;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Errno e && e.value == value;
    }

    @Override
    public int hashCode() {
        return value;
    }

    /** The symbolic name. */
    @Override
    public String toString() {
        return name;
    }

    private static Errno named(jnr.constants.platform.Errno constant) {
        if (!constant.defined()) {
            throw new ExceptionInInitializerError(constant.name() + " is not defined on this platform");
        }
        return BY_VALUE.get(constant.intValue());
    }

    private static Map<Integer, Errno> platformValues() {
        Map<Integer, Errno> byValue = new TreeMap<>();
        for (jnr.constants.platform.Errno e : jnr.constants.platform.Errno.values()) {
            // the first name jnr-constants lists for a value is POSIX's; the kernel's spellings win for aliases
            if (e.defined() && (!byValue.containsKey(e.intValue()) || kernelSpelling(e))) {
                byValue.put(e.intValue(), new Errno(e.intValue(), e.name(), e.description()));
            }
        }
        return Map.copyOf(byValue);
    }

    private static boolean kernelSpelling(jnr.constants.platform.Errno e) {
        return e == jnr.constants.platform.Errno.EOPNOTSUPP || e == jnr.constants.platform.Errno.EAGAIN
                || e == jnr.constants.platform.Errno.EDEADLK;
    }
}
