package dev.kdirect;

import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;

/**
 * The syscall surface kdirect's features are written against: one method per Linux syscall, with the kernel's
 * semantics and errno. Get one from {@link Kernels}.
 *
 * <p>Three bindings implement it ({@link #binding()}): FFM and JNA call the running kernel; the simulated kernel
 * is a pure-Java model that applies the same checks in the same order and fails with the same errno. Every
 * failure is a {@link KernelException}. Addresses and buffers are {@link MemorySegment}s; only their address
 * (and, for buffers, their size) is passed, so a segment may describe memory that is not mapped, exactly like
 * a pointer in C. Buffers must be native segments.
 *
 * <p>Implementations are thread-safe.
 */
public interface Kernel {

    /** Which binding this kernel is. */
    Binding binding();

    /** The page size the kernel uses for mappings (4096 on x86-64). */
    long pageSize();

    // ---- memory (mm/mmap.c, mm/mprotect.c, mm/madvise.c)

    /**
     * mmap(2): maps {@code length} bytes (rounded up to pages) and returns the mapping as a segment of exactly
     * {@code length} bytes.
     *
     * @param address a hint, or the exact place with {@link MapFlags#FIXED}; {@link MemorySegment#NULL} for any
     * @param prot {@link Prot} bits
     * @param flags {@link MapFlags}: exactly one of SHARED, PRIVATE or SHARED_VALIDATE, plus modifiers
     * @param fd the file to map, or -1 with {@link MapFlags#ANONYMOUS}
     * @param offset the file offset, a multiple of the page size
     * @throws KernelException EINVAL (length 0, offset or fixed address not page aligned, no mapping type),
     *     EBADF (bad fd for a file mapping), EACCES (fd not opened for the access asked), EOPNOTSUPP (a
     *     SHARED_VALIDATE flag the file does not support, e.g. SYNC on a file that is not on a DAX mount),
     *     EEXIST (FIXED_NOREPLACE over a mapping), ENOMEM (no address space left)
     */
    MemorySegment mmap(MemorySegment address, long length, int prot, int flags, int fd, long offset)
            throws KernelException;

    /**
     * munmap(2): removes the mappings in the range. Unmapped pages in the range are not an error.
     *
     * @throws KernelException EINVAL (address not page aligned, length 0)
     */
    void munmap(MemorySegment address, long length) throws KernelException;

    /**
     * mprotect(2): changes the protection of the pages in the range. Length 0 succeeds and does nothing.
     *
     * @throws KernelException EINVAL (address not page aligned, unknown prot bits), ENOMEM (part of the range is
     *     not mapped; pages before the hole may already have changed), EACCES (e.g. WRITE on a shared mapping
     *     of a file opened read-only)
     */
    void mprotect(MemorySegment address, long length, int prot) throws KernelException;

    /**
     * madvise(2): gives {@link Advice} for the range. The advice is validated first, so an unknown advice fails
     * even for length 0; a valid advice with length 0 succeeds and does nothing.
     *
     * <p>{@link Advice#HWPOISON} and {@link Advice#SOFT_OFFLINE} work page by page and fail at the first page they
     * cannot handle, with the pages before it already done. Into private anonymous memory that was never written
     * (the shared zero page) HWPOISON fails with EBUSY the first time and marks the zero page poisoned for the whole
     * machine, EHWPOISON after that: write-fault the pages first ({@link Advice#POPULATE_WRITE}).
     *
     * @throws KernelException EINVAL (unknown or unsupported advice, address not page aligned, POPULATE_READ or
     *     POPULATE_WRITE on pages without that access), ENOMEM (part of the range is not mapped, for every advice
     *     but HWPOISON and SOFT_OFFLINE), EPERM (HWPOISON or SOFT_OFFLINE without CAP_SYS_ADMIN), EFAULT
     *     (HWPOISON or SOFT_OFFLINE: a page is not mapped, not readable, or already poisoned), EBUSY / EHWPOISON
     *     (HWPOISON of the zero page, see above), EHWPOISON (POPULATE_READ or POPULATE_WRITE reached a poisoned
     *     page)
     */
    void madvise(MemorySegment address, long length, int advice) throws KernelException;

    // ---- process

    /** geteuid(2): the effective user id. Never fails. */
    int geteuid();

    /**
     * capget(2): the effective capability set of the calling thread, as a bit mask indexed by
     * {@link Capability#number()}.
     *
     * @throws KernelException only if the kernel refuses the capability ABI version
     */
    long effectiveCapabilities() throws KernelException;

    // ---- files (fs/open.c, fs/read_write.c)

    /**
     * open(2): opens {@code path} with {@link OpenFlags} and, for {@link OpenFlags#CREAT}, the mode bits.
     *
     * @return the new file descriptor, the lowest one free
     * @throws KernelException ENOENT, EEXIST (CREAT|EXCL on an existing file, or on a symbolic link, dangling or
     *     not), ELOOP (NOFOLLOW and the last component is a symbolic link), EACCES, EISDIR (writing a directory),
     *     ENOTDIR, ...
     */
    int open(String path, int flags, int mode) throws KernelException;

    /**
     * fstat(2): the type, owner and size of an open file (of the file itself, never of a link to it).
     *
     * @throws KernelException EBADF (not an open descriptor)
     */
    FileStatus fstat(int fd) throws KernelException;

    /**
     * close(2).
     *
     * @throws KernelException EBADF (not an open descriptor)
     */
    void close(int fd) throws KernelException;

    /**
     * ftruncate(2): sets the file's size.
     *
     * @throws KernelException EBADF, EINVAL (negative length, or fd not open for writing)
     */
    void ftruncate(int fd, long length) throws KernelException;

    /**
     * fallocate(2): allocates (mode 0 or {@link FallocateFlags#KEEP_SIZE}) or punches blocks.
     *
     * @throws KernelException EBADF (bad fd, or not open for writing), EINVAL (offset &lt; 0 or length &lt;= 0),
     *     EOPNOTSUPP (mode the file system lacks)
     */
    void fallocate(int fd, int mode, long offset, long length) throws KernelException;

    /**
     * pread(2): reads up to {@code buffer.byteSize()} bytes at {@code offset}.
     *
     * @return the number of bytes read, 0 at end of file
     * @throws KernelException EBADF (bad fd, or not open for reading), EINVAL (negative offset), EISDIR
     */
    long pread(int fd, MemorySegment buffer, long offset) throws KernelException;

    /**
     * pwrite(2): writes {@code buffer.byteSize()} bytes at {@code offset}.
     *
     * @return the number of bytes written
     * @throws KernelException EBADF (bad fd, or not open for writing), EINVAL (negative offset)
     */
    long pwrite(int fd, MemorySegment buffer, long offset) throws KernelException;

    // ---- protection keys (mm/mprotect.c)

    /**
     * pkey_alloc(2): allocates a protection key and sets its rights in the calling thread's PKRU only.
     *
     * @param flags must be 0
     * @param accessRights 0, or PKEY_DISABLE_ACCESS (1) | PKEY_DISABLE_WRITE (2)
     * @return the key, 1..15 on x86-64
     * @throws KernelException EINVAL (flags or rights not allowed; also on some kernels when the CPU lacks
     *     PKU), ENOSPC (all keys allocated, or no PKU), ENOSYS (kernel without protection keys)
     */
    int pkeyAlloc(int flags, int accessRights) throws KernelException;

    /**
     * pkey_free(2): frees a key. The kernel does not check whether pages still carry the key: they stay tagged,
     * and the next pkey_alloc may hand the same number out again.
     *
     * @throws KernelException EINVAL (the key is not allocated)
     */
    void pkeyFree(int pkey) throws KernelException;

    /**
     * pkey_mprotect(2): mprotect that also tags the pages with {@code pkey}; -1 keeps each page's key, like
     * mprotect. The checks are mprotect's, then the key must be allocated.
     *
     * @throws KernelException EINVAL (address not page aligned, unknown prot bits, key not allocated), ENOMEM
     *     (part of the range is not mapped)
     */
    void pkeyMprotect(MemorySegment address, long length, int prot, int pkey) throws KernelException;

    /**
     * pkey_get(3): the calling thread's rights for {@code pkey}, read from its PKRU register: 0, or
     * PKEY_DISABLE_ACCESS (1) | PKEY_DISABLE_WRITE (2). PKRU is per thread; it is not checked whether the key
     * is allocated.
     *
     * @throws KernelException EINVAL (key outside 0..15), ENOSYS (the CPU or kernel has no PKU: glibc would
     *     execute RDPKRU and die of SIGILL, so kdirect refuses first)
     */
    int pkeyGet(int pkey) throws KernelException;

    /**
     * pkey_set(3): sets the calling thread's rights for {@code pkey} in its PKRU register, no syscall. Other
     * threads keep their own rights.
     *
     * @throws KernelException EINVAL (key outside 0..15, rights above 3), ENOSYS (no PKU, as for pkey_get)
     */
    void pkeySet(int pkey, int accessRights) throws KernelException;

    // ---- sockets (net/socket.c)

    /**
     * socket(2).
     *
     * @return the new descriptor
     * @throws KernelException EAFNOSUPPORT, EINVAL, EMFILE, ...
     */
    int socket(int domain, int type, int protocol) throws KernelException;

    /**
     * bind(2): gives the socket its local address; port 0 picks a free ephemeral port. A socket in TCP repair mode
     * may reuse a port in use (the kernel forces SO_REUSEADDR for it).
     *
     * @throws KernelException EBADF, ENOTSOCK, EINVAL (already bound, or not in state CLOSE), EAFNOSUPPORT (an
     *     IPv6 address for an AF_INET socket), EADDRNOTAVAIL (not a local address), EADDRINUSE (port taken),
     *     EACCES (port below 1024 without CAP_NET_BIND_SERVICE)
     */
    void bind(int fd, InetSocketAddress address) throws KernelException;

    /**
     * listen(2): makes a bound (or, if unbound, ephemerally bound) stream socket accept connections; the
     * backlog is capped by net.core.somaxconn.
     *
     * @throws KernelException EBADF, ENOTSOCK, EINVAL (connected, or not a stream socket), EADDRINUSE
     */
    void listen(int fd, int backlog) throws KernelException;

    /**
     * connect(2): the 3-way handshake with {@code address}; an unbound socket gets an ephemeral port first. In
     * TCP repair mode no SYN is sent: the socket goes straight to ESTABLISHED with the sequence numbers set by
     * TCP_QUEUE_SEQ.
     *
     * @throws KernelException EBADF, ENOTSOCK, EISCONN (connected, or listening), EAFNOSUPPORT, ECONNREFUSED
     *     (nobody listens there), EADDRNOTAVAIL (the 4-tuple is taken, e.g. by the connection being restored),
     *     EINPROGRESS / EALREADY (non-blocking socket)
     */
    void connect(int fd, InetSocketAddress address) throws KernelException;

    /**
     * accept(2): the next connection of a listening socket, as a new descriptor (blocking unless the socket is
     * non-blocking).
     *
     * @throws KernelException EBADF, ENOTSOCK, EINVAL (not listening), EAGAIN (non-blocking, none pending)
     */
    int accept(int fd) throws KernelException;

    /**
     * getsockname(2): the socket's local address; 0.0.0.0 (or ::) port 0 when unbound. An IPv4-mapped address of
     * a dual-stack socket is returned as the IPv4 address.
     *
     * @throws KernelException EBADF, ENOTSOCK
     */
    InetSocketAddress getsockname(int fd) throws KernelException;

    /**
     * getpeername(2): the connected peer's address.
     *
     * @throws KernelException EBADF, ENOTSOCK, ENOTCONN (not connected)
     */
    InetSocketAddress getpeername(int fd) throws KernelException;

    /**
     * setsockopt(2) with the option value given as native memory.
     *
     * @throws KernelException EBADF, ENOTSOCK, ENOPROTOOPT, EINVAL (bad length or value), EPERM (e.g. TCP_REPAIR
     *     or SO_SNDBUFFORCE without CAP_NET_ADMIN, a repair option outside repair mode), EFBIG (TCP_REPAIR_OPTIONS
     *     with a window scale above 14), EOPNOTSUPP (SOL_TCP on a Unix domain socket); the rules of each repair
     *     option are in docs/tcprepair.md
     */
    void setsockopt(int fd, int level, int option, MemorySegment value) throws KernelException;

    /**
     * getsockopt(2): reads an option into {@code value}.
     *
     * @return the option's length, at most {@code value.byteSize()}
     * @throws KernelException EBADF, ENOTSOCK, ENOPROTOOPT, EINVAL (bad length, no repair queue selected), EPERM
     *     (TCP_REPAIR_WINDOW outside repair mode), EOPNOTSUPP (SOL_TCP on a Unix domain socket)
     */
    int getsockopt(int fd, int level, int option, MemorySegment value) throws KernelException;

    /**
     * ioctl(2) with an int result, for SIOCINQ, SIOCOUTQ and SIOCOUTQNSD on a socket.
     *
     * @throws KernelException EBADF, ENOTTY, EINVAL (e.g. SIOCINQ on a listening socket)
     */
    int ioctlInt(int fd, long request) throws KernelException;

    /**
     * recv(2) into {@code buffer} with MSG_* flags.
     *
     * @return the bytes received; 0 at end of stream
     * @throws KernelException EAGAIN (nothing to read without blocking), EBADF, ENOTSOCK, ENOTCONN, ECONNRESET
     *     (the peer reset the connection), EPERM (repair mode without MSG_PEEK), EINVAL (repair mode with no queue
     *     selected)
     */
    long recv(int fd, MemorySegment buffer, int flags) throws KernelException;

    /**
     * send(2) of {@code buffer} with MSG_* flags; in repair mode it fills the selected queue without sending.
     *
     * @return the bytes queued
     * @throws KernelException EAGAIN (buffer full without blocking), EPIPE (not connected, or shut down),
     *     ECONNRESET, EBADF, ENOTSOCK, EINVAL (repair mode with no queue selected), ENOMEM (a repair-mode refill
     *     of the receive queue beyond the buffer)
     */
    long send(int fd, MemorySegment buffer, int flags) throws KernelException;

    // ---- Unix domain sockets and descriptor passing (net/unix/af_unix.c, net/core/scm.c)

    /**
     * socketpair(2): two connected sockets; only AF_UNIX has pairs.
     *
     * @return the two descriptors
     * @throws KernelException EINVAL (unknown flag bits in type), EAFNOSUPPORT, EOPNOTSUPP (AF_INET or AF_INET6),
     *     EPROTONOSUPPORT, EMFILE
     */
    int[] socketpair(int domain, int type, int protocol) throws KernelException;

    /**
     * bind(2) of an AF_UNIX socket to a path, which creates the socket file (mode from the umask).
     *
     * @throws KernelException EADDRINUSE (the path exists), ENOENT (its directory does not), EACCES, EINVAL
     *     (already bound)
     * @throws IllegalArgumentException for a path longer than 107 bytes
     */
    void bind(int fd, UnixDomainSocketAddress address) throws KernelException;

    /**
     * connect(2) of an AF_UNIX socket to a listening socket's path; needs write permission on the socket file.
     *
     * @throws KernelException ENOENT, ECONNREFUSED (nobody listens), EACCES, EISCONN
     * @throws IllegalArgumentException for a path longer than 107 bytes
     */
    void connect(int fd, UnixDomainSocketAddress address) throws KernelException;

    /**
     * sendmsg(2) of {@code data} with {@code descriptors} as one SCM_RIGHTS control message (none: no control data).
     * On a stream socket the descriptors travel with the first byte: with no data, nothing is sent and they are
     * dropped (returns 0).
     *
     * @return the bytes sent
     * @throws KernelException EINVAL (more than {@link SocketConstants#SCM_MAX_FD} descriptors, or SCM_RIGHTS on a
     *     socket that is not AF_UNIX), EBADF (a descriptor, or {@code fd}, is not open), ENOTSOCK, ENOTCONN, EPIPE
     *     (the peer closed; pass MSG_NOSIGNAL to avoid SIGPIPE), EAGAIN
     */
    long sendmsg(int fd, MemorySegment data, int[] descriptors, int flags) throws KernelException;

    /**
     * recvmsg(2) into {@code buffer}, with room for {@code maxDescriptors} descriptors (a control buffer of exactly
     * CMSG_LEN(4 * maxDescriptors) bytes; 0: none). A stream read stops after the bytes that carried descriptors.
     * Descriptors beyond the room are closed by the kernel and MSG_CTRUNC is set.
     *
     * @throws KernelException EAGAIN, EBADF, ENOTSOCK, EINVAL (an AF_UNIX stream socket that is not connected),
     *     ECONNRESET (the peer closed with data unread)
     */
    ReceivedMessage recvmsg(int fd, MemorySegment buffer, int maxDescriptors, int flags) throws KernelException;

    // ---- kexec (kernel/kexec_file.c)

    /**
     * kexec_file_load(2): loads a kernel (and initrd) to boot with {@code reboot(LINUX_REBOOT_CMD_KEXEC)}, or
     * with the UNLOAD flag (1) unloads the current one.
     *
     * @param commandLine the command line bytes INCLUDING the terminating NUL (the kernel rejects a last byte
     *     that is not NUL with EINVAL); {@link MemorySegment#NULL} for none
     * @throws KernelException ENOSYS (kernel without CONFIG_KEXEC_FILE), EPERM (no CAP_SYS_BOOT, or
     *     kexec_load_disabled), EINVAL (unknown flags, bad command line), EBUSY, EBADF, ENOEXEC (not a
     *     kernel image this kernel can load), EKEYREJECTED (signature)
     */
    void kexecFileLoad(int kernelFd, int initrdFd, MemorySegment commandLine, long flags) throws KernelException;

    /**
     * reboot(2) with LINUX_REBOOT_MAGIC1 and MAGIC2: for {@link #REBOOT_CMD_KEXEC} boots the kernel loaded by
     * kexec_file_load. It neither syncs nor unmounts file systems: call {@link #sync()} first. On the real kernel
     * a successful KEXEC does not return; the simulated kernel throws {@link SimulatedReboot} with the record of
     * the boot it modelled.
     *
     * @throws KernelException EPERM (no CAP_SYS_BOOT), EINVAL (unknown command, or KEXEC with no kernel loaded)
     */
    void reboot(int command) throws KernelException;

    /** sync(2): commits every file system's dirty data to storage. Never fails. */
    void sync();

    /**
     * msync(2): writes the dirty pages of a shared file mapping in the range back to the file; with
     * {@link #MS_SYNC} it waits for them. The page-granular way to persist a mapping that is not DAX.
     *
     * @throws KernelException EINVAL (address not page aligned, unknown flags, or both MS_SYNC and MS_ASYNC),
     *     ENOMEM (part of the range is not mapped), EIO (write-back failed)
     */
    void msync(MemorySegment address, long length, int flags) throws KernelException;

    /**
     * Writes back the CPU cache lines covering the range (clwb, else clflushopt, else clflush: libpmem's
     * pmem_flush), without waiting: on a MAP_SYNC mapping of persistent memory, the data reaches the persistence
     * domain after {@link #storeFence()}. Not a syscall: no privilege, no errno. Real bindings need libpmem
     * (Debian's libpmem1).
     *
     * @throws UnsupportedOperationException when libpmem is not installed, naming the package
     */
    void cacheLineWriteback(MemorySegment range);

    /** sfence (libpmem's pmem_drain): waits until the cache lines written back before it are persistent. */
    void storeFence();

    /**
     * {@link #cacheLineWriteback} then {@link #storeFence} in one call (libpmem's pmem_persist): the common case
     * costs one downcall instead of two.
     *
     * @throws UnsupportedOperationException when libpmem is not installed, naming the package
     */
    void cacheLinePersist(MemorySegment range);

    /** msync flag: write back and wait ({@link MsyncFlags#SYNC}). */
    int MS_SYNC = MsyncFlags.SYNC;

    /** LINUX_REBOOT_CMD_KEXEC (include/uapi/linux/reboot.h): boot the kernel loaded with kexec. */
    int REBOOT_CMD_KEXEC = 0x45584543;
}
