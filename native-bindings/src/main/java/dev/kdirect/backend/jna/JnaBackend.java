package dev.kdirect.backend.jna;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import dev.kdirect.Binding;
import dev.kdirect.Errno;
import dev.kdirect.backend.Backend;
import dev.kdirect.backend.MissingFunction;
import dev.kdirect.backend.PkuSupport;

/**
 * The real kernel through JNA direct mapping ({@link LibC}): the same glibc functions as the FFM backend, a
 * cross-check of those bindings. JNA reports errno as a {@link LastErrorException}; this class turns it back
 * into the kernel's {@code -errno}.
 */
public final class JnaBackend implements Backend {
    private static final long SYS_KEXEC_FILE_LOAD = 320; // arch/x86/entry/syscalls/syscall_64.tbl
    private static final int SC_PAGESIZE = 30; // bits/confname.h
    private static final int LINUX_CAPABILITY_VERSION_3 = 0x20080522;
    private static final long PAGE_SIZE = LibC.sysconf(SC_PAGESIZE);

    /** A call that reports failure by throwing {@link LastErrorException}. */
    @FunctionalInterface
    interface Call {
        long run() throws LastErrorException;
    }

    private static long call(Call call) {
        try {
            return call.run();
        } catch (LastErrorException e) {
            return -e.getErrorCode();
        }
    }

    /**
     * A call into a class whose registration may have failed (a glibc without the pkey functions): the first use
     * throws ExceptionInInitializerError, later ones NoClassDefFoundError; both mean the function is missing.
     */
    static long linked(String function, Call call) {
        try {
            return call(call);
        } catch (LinkageError missing) {
            throw MissingFunction.inLibc(function);
        }
    }

    /** A libpmem call: without libpmem, DAX pmem's cache-line write-back is unavailable, nothing else. */
    private static void inLibpmem(String function, Runnable call) {
        try {
            call.run();
        } catch (LinkageError missing) {
            throw MissingFunction.inLibpmem(function, LibPmem.libraryLoads());
        }
    }

    @Override
    public Binding binding() {
        return Binding.JNA;
    }

    @Override
    public long pageSize() {
        return PAGE_SIZE;
    }

    @Override
    public long mmap(long address, long length, int prot, int flags, int fd, long offset) {
        return call(() -> LibC.mmap(address, length, prot, flags, fd, offset));
    }

    @Override
    public int munmap(long address, long length) {
        return (int) call(() -> LibC.munmap(address, length));
    }

    @Override
    public int mprotect(long address, long length, int prot) {
        return (int) call(() -> LibC.mprotect(address, length, prot));
    }

    @Override
    public int madvise(long address, long length, int advice) {
        return (int) call(() -> LibC.madvise(address, length, advice));
    }

    @Override
    public int geteuid() {
        return LibC.geteuid();
    }

    @Override
    public long effectiveCapabilities() {
        // capget(2) version 3: header {version, pid=0}, then two {effective, permitted, inheritable} words.
        try (Memory header = new Memory(8); Memory data = new Memory(24)) {
            header.setInt(0, LINUX_CAPABILITY_VERSION_3);
            header.setInt(4, 0);
            long r = call(() -> LibC.capget(Pointer.nativeValue(header), Pointer.nativeValue(data)));
            if (r < 0) {
                return r;
            }
            return Integer.toUnsignedLong(data.getInt(0)) | (Integer.toUnsignedLong(data.getInt(12)) << 32);
        }
    }

    @Override
    public int open(String path, int flags, int mode) {
        return (int) call(() -> LibC.open(path, flags, mode));
    }

    @Override
    public int close(int fd) {
        return (int) call(() -> LibC.close(fd));
    }

    @Override
    public int fstat(int fd, long statbuf) {
        return (int) call(() -> LibC.fstat(fd, statbuf));
    }

    @Override
    public int ftruncate(int fd, long length) {
        return (int) call(() -> LibC.ftruncate(fd, length));
    }

    @Override
    public int fallocate(int fd, int mode, long offset, long length) {
        return (int) call(() -> LibC.fallocate(fd, mode, offset, length));
    }

    @Override
    public long pread(int fd, long buffer, long count, long offset) {
        return call(() -> LibC.pread(fd, buffer, count, offset));
    }

    @Override
    public long pwrite(int fd, long buffer, long count, long offset) {
        return call(() -> LibC.pwrite(fd, buffer, count, offset));
    }

    @Override
    public int pkeyAlloc(int flags, int accessRights) {
        return (int) linked("pkey_alloc", () -> LibPkeys.pkey_alloc(flags, accessRights));
    }

    @Override
    public int pkeyFree(int pkey) {
        return (int) linked("pkey_free", () -> LibPkeys.pkey_free(pkey));
    }

    @Override
    public int pkeyMprotect(long address, long length, int prot, int pkey) {
        return (int) linked("pkey_mprotect", () -> LibPkeys.pkey_mprotect(address, length, prot, pkey));
    }

    @Override
    public int pkeyGet(int pkey) {
        if (!PkuSupport.enabledByOs()) {
            return -Errno.ENOSYS.value();
        }
        int r = (int) linked("pkey_get", () -> LibPkeys.pkey_get(pkey));
        return r == -1 ? -Errno.EINVAL.value() : r;
    }

    @Override
    public int pkeySet(int pkey, int accessRights) {
        if (!PkuSupport.enabledByOs()) {
            return -Errno.ENOSYS.value();
        }
        int r = (int) linked("pkey_set", () -> LibPkeys.pkey_set(pkey, accessRights));
        return r == -1 ? -Errno.EINVAL.value() : r;
    }

    @Override
    public int socket(int domain, int type, int protocol) {
        return (int) call(() -> LibC.socket(domain, type, protocol));
    }

    @Override
    public int bind(int fd, long address, int length) {
        return (int) call(() -> LibC.bind(fd, address, length));
    }

    @Override
    public int listen(int fd, int backlog) {
        return (int) call(() -> LibC.listen(fd, backlog));
    }

    @Override
    public int connect(int fd, long address, int length) {
        return (int) call(() -> LibC.connect(fd, address, length));
    }

    @Override
    public int accept(int fd) {
        return (int) call(() -> LibC.accept(fd, 0, 0));
    }

    @Override
    public int getsockname(int fd, long address, int capacity) {
        return withLength(capacity, length -> LibC.getsockname(fd, address, length));
    }

    @Override
    public int getpeername(int fd, long address, int capacity) {
        return withLength(capacity, length -> LibC.getpeername(fd, address, length));
    }

    /** This thread's int for an in/out socklen_t or an ioctl result: no allocation per call. */
    private static final ThreadLocal<Memory> INT_SLOT = ThreadLocal.withInitial(() -> new Memory(4));

    /** A call with an in/out int (socklen_t, ioctl's result): the value it leaves there, or -errno. */
    private static int withLength(int capacity, LengthCall call) {
        Memory length = INT_SLOT.get();
        length.setInt(0, capacity);
        long r = call(() -> call.run(Pointer.nativeValue(length)));
        return r < 0 ? (int) r : length.getInt(0);
    }

    @FunctionalInterface
    private interface LengthCall {
        long run(long length) throws LastErrorException;
    }

    @Override
    public int setsockopt(int fd, int level, int option, long value, int length) {
        return (int) call(() -> LibC.setsockopt(fd, level, option, value, length));
    }

    @Override
    public int getsockopt(int fd, int level, int option, long value, int capacity) {
        return withLength(capacity, length -> LibC.getsockopt(fd, level, option, value, length));
    }

    @Override
    public int ioctlInt(int fd, long request) {
        return withLength(0, result -> LibC.ioctl(fd, request, result));
    }

    @Override
    public long recv(int fd, long buffer, long length, int flags) {
        return call(() -> LibC.recv(fd, buffer, length, flags));
    }

    @Override
    public long send(int fd, long buffer, long length, int flags) {
        return call(() -> LibC.send(fd, buffer, length, flags));
    }

    @Override
    public int socketpair(int domain, int type, int protocol, long pair) {
        return (int) call(() -> LibC.socketpair(domain, type, protocol, pair));
    }

    @Override
    public long sendmsg(int fd, long message, int flags) {
        return call(() -> LibC.sendmsg(fd, message, flags));
    }

    @Override
    public long recvmsg(int fd, long message, int flags) {
        return call(() -> LibC.recvmsg(fd, message, flags));
    }

    @Override
    public long kexecFileLoad(int kernelFd, int initrdFd, long commandLineLength, long commandLine, long flags) {
        return call(() -> LibC.syscall(SYS_KEXEC_FILE_LOAD, kernelFd, initrdFd, commandLineLength, commandLine, flags));
    }

    @Override
    public int reboot(int command) {
        return (int) call(() -> LibC.reboot(command));
    }

    @Override
    public void sync() {
        LibC.sync();
    }

    @Override
    public int msync(long address, long length, int flags) {
        return (int) call(() -> LibC.msync(address, length, flags));
    }

    @Override
    public void cacheLineWriteback(long address, long length) {
        inLibpmem("pmem_flush", () -> LibPmem.pmem_flush(address, length));
    }

    @Override
    public void storeFence() {
        inLibpmem("pmem_drain", () -> LibPmem.pmem_drain());
    }

    @Override
    public void cacheLinePersist(long address, long length) {
        inLibpmem("pmem_persist", () -> LibPmem.pmem_persist(address, length));
    }
}
