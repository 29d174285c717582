package dev.kdirect.backend;

import dev.kdirect.Binding;

/**
 * The raw syscall surface every backend implements, in the kernel's own convention: a result &gt;= 0 is
 * success, a negative result is {@code -errno}. Addresses are plain longs, like the kernel's
 * {@code unsigned long start}. {@link BackendKernel} turns this into the typed {@link dev.kdirect.Kernel}
 * with {@link dev.kdirect.KernelException}s, once for all backends.
 */
public interface Backend {

    Binding binding();

    long pageSize();

    long mmap(long address, long length, int prot, int flags, int fd, long offset);

    int munmap(long address, long length);

    int mprotect(long address, long length, int prot);

    int madvise(long address, long length, int advice);

    int geteuid();

    /** The effective capability mask (non-negative), or -errno. */
    long effectiveCapabilities();

    int open(String path, int flags, int mode);

    int close(int fd);

    /** fstat(2) into the 144-byte x86-64 {@code struct stat} at {@code statbuf}. */
    int fstat(int fd, long statbuf);

    int ftruncate(int fd, long length);

    int fallocate(int fd, int mode, long offset, long length);

    long pread(int fd, long buffer, long count, long offset);

    long pwrite(int fd, long buffer, long count, long offset);

    int pkeyAlloc(int flags, int accessRights);

    int pkeyFree(int pkey);

    int pkeyMprotect(long address, long length, int prot, int pkey);

    /** The rights bits (0..3), or -errno. */
    int pkeyGet(int pkey);

    int pkeySet(int pkey, int accessRights);

    int socket(int domain, int type, int protocol);

    /** bind(2) of the {@code length} bytes of sockaddr at {@code address}. */
    int bind(int fd, long address, int length);

    int listen(int fd, int backlog);

    int connect(int fd, long address, int length);

    /** accept(2) without asking for the peer's address: the new descriptor, or -errno. */
    int accept(int fd);

    /** getsockname(2) into {@code capacity} bytes: the address's full length (non-negative), or -errno. */
    int getsockname(int fd, long address, int capacity);

    /** getpeername(2), as {@link #getsockname}. */
    int getpeername(int fd, long address, int capacity);

    int setsockopt(int fd, int level, int option, long value, int length);

    /** The option's length (non-negative), or -errno. */
    int getsockopt(int fd, int level, int option, long value, int capacity);

    int ioctlInt(int fd, long request);

    long recv(int fd, long buffer, long length, int flags);

    long send(int fd, long buffer, long length, int flags);

    /** socketpair(2), writing the two descriptors at {@code pair}: 0 or -errno. */
    int socketpair(int domain, int type, int protocol, long pair);

    /** sendmsg(2) of the struct msghdr at {@code message} ({@link Messages}): the bytes sent, or -errno. */
    long sendmsg(int fd, long message, int flags);

    /** recvmsg(2) into the struct msghdr at {@code message}, which it updates: the bytes received, or -errno. */
    long recvmsg(int fd, long message, int flags);

    long kexecFileLoad(int kernelFd, int initrdFd, long commandLineLength, long commandLine, long flags);

    int reboot(int command);

    void sync();

    int msync(long address, long length, int flags);

    void cacheLineWriteback(long address, long length);

    void storeFence();

    void cacheLinePersist(long address, long length);
}
