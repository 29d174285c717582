package dev.kdirect.backend.simulated;

import dev.kdirect.ErrnoNames;

/** The errno values the model returns, looked up by name so they are the running platform's own numbers. */
final class Errno {
    static final int EPERM = ErrnoNames.value("EPERM");
    static final int ENOENT = ErrnoNames.value("ENOENT");
    static final int EBADF = ErrnoNames.value("EBADF");
    static final int ENOMEM = ErrnoNames.value("ENOMEM");
    static final int EACCES = ErrnoNames.value("EACCES");
    static final int EFAULT = ErrnoNames.value("EFAULT");
    static final int EBUSY = ErrnoNames.value("EBUSY");
    static final int EEXIST = ErrnoNames.value("EEXIST");
    static final int ENODEV = ErrnoNames.value("ENODEV");
    static final int ENOTDIR = ErrnoNames.value("ENOTDIR");
    static final int EISDIR = ErrnoNames.value("EISDIR");
    static final int EINVAL = ErrnoNames.value("EINVAL");
    static final int EMFILE = ErrnoNames.value("EMFILE");
    static final int EFBIG = ErrnoNames.value("EFBIG");
    static final int ENOSPC = ErrnoNames.value("ENOSPC");
    static final int ESPIPE = ErrnoNames.value("ESPIPE");
    static final int ENOSYS = ErrnoNames.value("ENOSYS");
    static final int ENOTSOCK = ErrnoNames.value("ENOTSOCK");
    static final int ENOPROTOOPT = ErrnoNames.value("ENOPROTOOPT");
    static final int EAFNOSUPPORT = ErrnoNames.value("EAFNOSUPPORT");
    static final int EOPNOTSUPP = ErrnoNames.value("EOPNOTSUPP");
    static final int EOVERFLOW = ErrnoNames.value("EOVERFLOW");
    static final int EIO = ErrnoNames.value("EIO");
    static final int ETXTBSY = ErrnoNames.value("ETXTBSY");
    static final int EADDRNOTAVAIL = ErrnoNames.value("EADDRNOTAVAIL");
    static final int ENOEXEC = ErrnoNames.value("ENOEXEC");
    static final int EHWPOISON = ErrnoNames.value("EHWPOISON");
    static final int EADDRINUSE = ErrnoNames.value("EADDRINUSE");
    static final int ECONNREFUSED = ErrnoNames.value("ECONNREFUSED");
    static final int ENOTCONN = ErrnoNames.value("ENOTCONN");
    static final int EISCONN = ErrnoNames.value("EISCONN");
    static final int EAGAIN = ErrnoNames.value("EAGAIN");
    static final int EPIPE = ErrnoNames.value("EPIPE");
    static final int ECONNRESET = ErrnoNames.value("ECONNRESET");
    static final int EINPROGRESS = ErrnoNames.value("EINPROGRESS");
    static final int ELOOP = ErrnoNames.value("ELOOP");

    private Errno() {
    }
}
