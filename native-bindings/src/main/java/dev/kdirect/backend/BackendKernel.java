package dev.kdirect.backend;

import dev.kdirect.Binding;
import dev.kdirect.FileStatus;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.NativeAccess;
import dev.kdirect.ReceivedMessage;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;

/**
 * The one {@link Kernel} implementation: calls a {@link Backend} and turns {@code -errno} into a
 * {@link KernelException} with the arguments and a hint. Because every binding goes through here, the same
 * failure reads the same on FFM, JNA and the simulated kernel.
 */
public final class BackendKernel implements Kernel {
    private final Backend backend;

    public BackendKernel(Backend backend) {
        this.backend = backend;
    }

    /** The backend behind this kernel (for the test support in dev.kdirect.testing). */
    public Backend backend() {
        return backend;
    }

    @Override
    public Binding binding() {
        return backend.binding();
    }

    @Override
    public long pageSize() {
        return backend.pageSize();
    }

    @Override
    public MemorySegment mmap(MemorySegment address, long length, int prot, int flags, int fd, long offset)
            throws KernelException {
        long r = backend.mmap(address.address(), length, prot, flags, fd, offset);
        if (r < 0 && r > -4096) { // MAP_FAILED range: the kernel never maps the last page of the address space
            throw fail(r, "mmap", () -> "addr=" + hex(address.address()) + ", length=" + length + ", prot="
                    + FlagNames.prot(prot) + ", flags=" + FlagNames.map(flags) + ", fd=" + fd + ", offset=" + offset);
        }
        try {
            return MemorySegment.ofAddress(r).reinterpret(length);
        } catch (IllegalCallerException e) {
            throw NativeAccess.denied(e);
        }
    }

    @Override
    public void munmap(MemorySegment address, long length) throws KernelException {
        check(backend.munmap(address.address(), length), "munmap", () -> range(address, length));
    }

    @Override
    public void mprotect(MemorySegment address, long length, int prot) throws KernelException {
        check(backend.mprotect(address.address(), length, prot), "mprotect",
                () -> range(address, length) + ", prot=" + FlagNames.prot(prot));
    }

    @Override
    public void madvise(MemorySegment address, long length, int advice) throws KernelException {
        check(backend.madvise(address.address(), length, advice), "madvise",
                () -> range(address, length) + ", advice=" + FlagNames.advice(advice));
    }

    @Override
    public int geteuid() {
        return backend.geteuid();
    }

    @Override
    public long effectiveCapabilities() throws KernelException {
        return check(backend.effectiveCapabilities(), "capget", () -> "pid=0");
    }

    @Override
    public int open(String path, int flags, int mode) throws KernelException {
        return (int) check(backend.open(path, flags, mode), "open",
                () -> "path=" + path + ", flags=" + FlagNames.open(flags) + ", mode=0" + Integer.toOctalString(mode));
    }

    /** x86-64 {@code struct stat} (arch/x86/include/uapi/asm/stat.h): its size and the offsets kdirect reads. */
    public static final int STAT_SIZE = 144;
    public static final int STAT_MODE = 24;
    public static final int STAT_UID = 28;
    public static final int STAT_SIZE_FIELD = 48;

    private static final ThreadLocal<MemorySegment> STAT =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(STAT_SIZE, 8));

    @Override
    public FileStatus fstat(int fd) throws KernelException {
        MemorySegment stat = STAT.get();
        check(backend.fstat(fd, stat.address()), "fstat", () -> "fd=" + fd);
        return new FileStatus(stat.get(ValueLayout.JAVA_INT, STAT_MODE), stat.get(ValueLayout.JAVA_INT, STAT_UID),
                stat.get(ValueLayout.JAVA_LONG, STAT_SIZE_FIELD));
    }

    @Override
    public void close(int fd) throws KernelException {
        check(backend.close(fd), "close", () -> "fd=" + fd);
    }

    @Override
    public void ftruncate(int fd, long length) throws KernelException {
        check(backend.ftruncate(fd, length), "ftruncate", () -> "fd=" + fd + ", length=" + length);
    }

    @Override
    public void fallocate(int fd, int mode, long offset, long length) throws KernelException {
        check(backend.fallocate(fd, mode, offset, length), "fallocate",
                () -> "fd=" + fd + ", mode=" + mode + ", offset=" + offset + ", length=" + length);
    }

    @Override
    public long pread(int fd, MemorySegment buffer, long offset) throws KernelException {
        requireNative(buffer);
        return check(backend.pread(fd, buffer.address(), buffer.byteSize(), offset), "pread",
                () -> "fd=" + fd + ", count=" + buffer.byteSize() + ", offset=" + offset);
    }

    @Override
    public long pwrite(int fd, MemorySegment buffer, long offset) throws KernelException {
        requireNative(buffer);
        return check(backend.pwrite(fd, buffer.address(), buffer.byteSize(), offset), "pwrite",
                () -> "fd=" + fd + ", count=" + buffer.byteSize() + ", offset=" + offset);
    }

    @Override
    public int pkeyAlloc(int flags, int accessRights) throws KernelException {
        return (int) check(backend.pkeyAlloc(flags, accessRights), "pkey_alloc",
                () -> "flags=" + flags + ", rights=" + accessRights);
    }

    @Override
    public void pkeyFree(int pkey) throws KernelException {
        check(backend.pkeyFree(pkey), "pkey_free", () -> "pkey=" + pkey);
    }

    @Override
    public void pkeyMprotect(MemorySegment address, long length, int prot, int pkey) throws KernelException {
        check(backend.pkeyMprotect(address.address(), length, prot, pkey), "pkey_mprotect",
                () -> range(address, length) + ", prot=" + FlagNames.prot(prot) + ", pkey=" + pkey);
    }

    @Override
    public int pkeyGet(int pkey) throws KernelException {
        return (int) check(backend.pkeyGet(pkey), "pkey_get", () -> "pkey=" + pkey);
    }

    @Override
    public void pkeySet(int pkey, int accessRights) throws KernelException {
        check(backend.pkeySet(pkey, accessRights), "pkey_set", () -> "pkey=" + pkey + ", rights=" + accessRights);
    }

    @Override
    public int socket(int domain, int type, int protocol) throws KernelException {
        return (int) check(backend.socket(domain, type, protocol), "socket",
                () -> "domain=" + domain + ", type=" + type + ", protocol=" + protocol);
    }

    @Override
    public void bind(int fd, InetSocketAddress address) throws KernelException {
        withAddress("bind", fd, address, backend::bind);
    }

    @Override
    public void listen(int fd, int backlog) throws KernelException {
        check(backend.listen(fd, backlog), "listen", () -> "fd=" + fd + ", backlog=" + backlog);
    }

    @Override
    public void connect(int fd, InetSocketAddress address) throws KernelException {
        withAddress("connect", fd, address, backend::connect);
    }

    @Override
    public void bind(int fd, UnixDomainSocketAddress address) throws KernelException {
        withAddress("bind", fd, address, backend::bind);
    }

    @Override
    public void connect(int fd, UnixDomainSocketAddress address) throws KernelException {
        withAddress("connect", fd, address, backend::connect);
    }

    /** bind or connect with the address encoded as sockaddr_un. */
    private void withAddress(String syscall, int fd, UnixDomainSocketAddress address, AddressCall call)
            throws KernelException {
        MemorySegment sockaddr = SocketAddresses.encode(address, SegmentAllocator.prefixAllocator(SOCKADDR.get()));
        check(call.call(fd, sockaddr.address(), (int) sockaddr.byteSize()), syscall,
                () -> "fd=" + fd + ", path=" + address.getPath());
    }

    @Override
    public int[] socketpair(int domain, int type, int protocol) throws KernelException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pair = arena.allocate(java.lang.foreign.ValueLayout.JAVA_INT, 2);
            check(backend.socketpair(domain, type, protocol, pair.address()), "socketpair",
                    () -> "domain=" + domain + ", type=" + type + ", protocol=" + protocol);
            return pair.toArray(java.lang.foreign.ValueLayout.JAVA_INT);
        }
    }

    @Override
    public long sendmsg(int fd, MemorySegment data, int[] descriptors, int flags) throws KernelException {
        requireNative(data);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment message = Messages.forSend(data, descriptors, arena);
            return check(backend.sendmsg(fd, message.address(), flags), "sendmsg", () -> "fd=" + fd + ", length="
                    + data.byteSize() + ", descriptors=" + java.util.Arrays.toString(descriptors) + ", flags=0x"
                    + Integer.toHexString(flags));
        }
    }

    @Override
    public ReceivedMessage recvmsg(int fd, MemorySegment buffer, int maxDescriptors, int flags)
            throws KernelException {
        requireNative(buffer);
        if (maxDescriptors < 0) {
            throw new IllegalArgumentException("room for " + maxDescriptors + " descriptors");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment message = Messages.forReceive(buffer, maxDescriptors, arena);
            long bytes = check(backend.recvmsg(fd, message.address(), flags), "recvmsg", () -> "fd=" + fd
                    + ", length=" + buffer.byteSize() + ", room for " + maxDescriptors + " descriptors, flags=0x"
                    + Integer.toHexString(flags));
            return new ReceivedMessage(bytes, Messages.receivedDescriptors(message), Messages.flags(message));
        }
    }

    /** bind or connect with the address encoded as sockaddr_in or sockaddr_in6. */
    private void withAddress(String syscall, int fd, InetSocketAddress address, AddressCall call)
            throws KernelException {
        MemorySegment sockaddr = SocketAddresses.encode(address, SegmentAllocator.prefixAllocator(SOCKADDR.get()));
        check(call.call(fd, sockaddr.address(), (int) sockaddr.byteSize()), syscall,
                () -> "fd=" + fd + ", address=" + address);
    }

    /** This thread's sockaddr buffer: bind, connect, getsockname and getpeername allocate nothing per call. */
    private static final ThreadLocal<MemorySegment> SOCKADDR =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(SocketAddresses.MAX_SIZE, 8));

    /** bind or connect on the backend. */
    @FunctionalInterface
    private interface AddressCall {
        int call(int fd, long address, int length);
    }

    @Override
    public int accept(int fd) throws KernelException {
        return (int) check(backend.accept(fd), "accept", () -> "fd=" + fd);
    }

    @Override
    public InetSocketAddress getsockname(int fd) throws KernelException {
        return socketName("getsockname", fd, backend::getsockname);
    }

    @Override
    public InetSocketAddress getpeername(int fd) throws KernelException {
        return socketName("getpeername", fd, backend::getpeername);
    }

    private InetSocketAddress socketName(String syscall, int fd, NameCall call) throws KernelException {
        MemorySegment sockaddr = SOCKADDR.get();
        int length = (int) check(call.name(fd, sockaddr.address(), SocketAddresses.MAX_SIZE), syscall,
                () -> "fd=" + fd);
        return SocketAddresses.decode(sockaddr, length);
    }

    /** getsockname or getpeername on the backend. */
    @FunctionalInterface
    private interface NameCall {
        int name(int fd, long address, int capacity);
    }

    @Override
    public void setsockopt(int fd, int level, int option, MemorySegment value) throws KernelException {
        requireNative(value);
        check(backend.setsockopt(fd, level, option, value.address(), (int) value.byteSize()), "setsockopt",
                () -> "fd=" + fd + ", level=" + level + ", option=" + option + ", length=" + value.byteSize());
    }

    @Override
    public int getsockopt(int fd, int level, int option, MemorySegment value) throws KernelException {
        requireNative(value);
        return (int) check(backend.getsockopt(fd, level, option, value.address(), (int) value.byteSize()),
                "getsockopt", () -> "fd=" + fd + ", level=" + level + ", option=" + option);
    }

    @Override
    public int ioctlInt(int fd, long request) throws KernelException {
        return (int) check(backend.ioctlInt(fd, request), "ioctl",
                () -> "fd=" + fd + ", request=0x" + Long.toHexString(request));
    }

    @Override
    public long recv(int fd, MemorySegment buffer, int flags) throws KernelException {
        requireNative(buffer);
        return check(backend.recv(fd, buffer.address(), buffer.byteSize(), flags), "recv",
                () -> "fd=" + fd + ", length=" + buffer.byteSize() + ", flags=0x" + Integer.toHexString(flags));
    }

    @Override
    public long send(int fd, MemorySegment buffer, int flags) throws KernelException {
        requireNative(buffer);
        return check(backend.send(fd, buffer.address(), buffer.byteSize(), flags), "send",
                () -> "fd=" + fd + ", length=" + buffer.byteSize() + ", flags=0x" + Integer.toHexString(flags));
    }

    @Override
    public void kexecFileLoad(int kernelFd, int initrdFd, MemorySegment commandLine, long flags)
            throws KernelException {
        requireNative(commandLine);
        check(backend.kexecFileLoad(kernelFd, initrdFd, commandLine.byteSize(), commandLine.address(), flags),
                "kexec_file_load", () -> "kernel_fd=" + kernelFd + ", initrd_fd=" + initrdFd
                        + ", cmdline_len=" + commandLine.byteSize() + ", flags=" + flags);
    }

    @Override
    public void reboot(int command) throws KernelException {
        check(backend.reboot(command), "reboot", () -> "cmd=0x" + Integer.toHexString(command));
    }

    @Override
    public void sync() {
        backend.sync();
    }

    @Override
    public void msync(MemorySegment address, long length, int flags) throws KernelException {
        check(backend.msync(address.address(), length, flags), "msync", () -> range(address, length)
                + ", flags=" + flags);
    }

    @Override
    public void cacheLineWriteback(MemorySegment range) {
        requireNative(range);
        backend.cacheLineWriteback(range.address(), range.byteSize());
    }

    @Override
    public void storeFence() {
        backend.storeFence();
    }

    @Override
    public void cacheLinePersist(MemorySegment range) {
        requireNative(range);
        backend.cacheLinePersist(range.address(), range.byteSize());
    }

    @Override
    public String toString() {
        return "Kernel[" + binding().id() + "]";
    }

    private long check(long result, String syscall, ArgumentText arguments) throws KernelException {
        if (result < 0) {
            throw fail(result, syscall, arguments);
        }
        return result;
    }

    private static KernelException fail(long negativeErrno, String syscall, ArgumentText arguments) {
        int errno = (int) -negativeErrno;
        return new KernelException(errno, syscall, arguments.text(), Hints.forFailure(syscall, errno));
    }

    private static void requireNative(MemorySegment buffer) {
        if (!buffer.isNative()) {
            throw new IllegalArgumentException("the kernel needs native memory: allocate the buffer with an Arena,"
                    + " not a heap segment");
        }
    }

    private static String range(MemorySegment address, long length) {
        return "addr=" + hex(address.address()) + ", length=" + length;
    }

    private static String hex(long address) {
        return "0x" + Long.toHexString(address);
    }

    /** Argument text is built only when a call fails: the success path stays allocation-free. */
    @FunctionalInterface
    private interface ArgumentText {
        String text();
    }
}
