package dev.kdirect.backend.ffm;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.kdirect.Binding;
import dev.kdirect.Errno;
import dev.kdirect.backend.Backend;
import dev.kdirect.backend.PkuSupport;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The real kernel through Panama FFM downcalls into glibc. Pointers travel as {@code long} (the x86-64 and
 * AArch64 ABIs pass them like 64-bit integers), errno is captured by the linker right after the call and read
 * only on failure, and every handle is a static final so the JIT can inline the downcall.
 */
public final class FfmBackend implements Backend {
    private static final long SYS_KEXEC_FILE_LOAD = 320; // arch/x86/entry/syscalls/syscall_64.tbl

    private static final MethodHandle MMAP = Downcalls.withErrno("mmap",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MUNMAP = Downcalls.withErrno("munmap",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle MPROTECT = Downcalls.withErrno("mprotect",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    private static final MethodHandle MADVISE = Downcalls.withErrno("madvise",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    private static final MethodHandle GETEUID = Downcalls.critical("geteuid", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle CAPGET = Downcalls.withErrno("capget",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle OPEN = Downcalls.withErrnoVariadic("open",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT), 2);
    private static final MethodHandle CLOSE = Downcalls.withErrno("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle FSTAT = Downcalls.withErrno("fstat",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle FTRUNCATE = Downcalls.withErrno("ftruncate",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle FALLOCATE = Downcalls.withErrno("fallocate",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle PREAD = Downcalls.withErrno("pread",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle PWRITE = Downcalls.withErrno("pwrite",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle PKEY_ALLOC = Downcalls.withErrno("pkey_alloc",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle PKEY_FREE = Downcalls.withErrno("pkey_free",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle PKEY_MPROTECT = Downcalls.withErrno("pkey_mprotect",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT));
    // pkey_get/pkey_set only read or write PKRU (no syscall) and fail only on argument checks, with EINVAL:
    // critical downcalls without errno capture keep an access window at a few nanoseconds.
    private static final MethodHandle PKEY_GET = Downcalls.critical("pkey_get",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle PKEY_SET = Downcalls.critical("pkey_set",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle SOCKET = Downcalls.withErrno("socket",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle SETSOCKOPT = Downcalls.withErrno("setsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT));
    private static final MethodHandle REBOOT = Downcalls.withErrno("reboot",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle SYNC = Downcalls.plain("sync", FunctionDescriptor.ofVoid());
    private static final MethodHandle MSYNC = Downcalls.withErrno("msync",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    private static final MethodHandle GETSOCKOPT = Downcalls.withErrno("getsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle IOCTL = Downcalls.withErrnoVariadic("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), 2);
    private static final MethodHandle RECV = Downcalls.withErrno("recv",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    private static final MethodHandle SEND = Downcalls.withErrno("send",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    private static final MethodHandle SYSCALL5 = Downcalls.withErrnoVariadic("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG), 1);

    private static final MethodHandle BIND = Downcalls.withErrno("bind",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT));
    private static final MethodHandle LISTEN = Downcalls.withErrno("listen",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle CONNECT = Downcalls.withErrno("connect",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT));
    private static final MethodHandle ACCEPT = Downcalls.withErrno("accept",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle GETSOCKNAME = Downcalls.withErrno("getsockname",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle GETPEERNAME = Downcalls.withErrno("getpeername",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG));

    private static final MethodHandle SOCKETPAIR = Downcalls.withErrno("socketpair",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle SENDMSG = Downcalls.withErrno("sendmsg",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));
    private static final MethodHandle RECVMSG = Downcalls.withErrno("recvmsg",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT));

    private static final long PAGE_SIZE = Downcalls.pageSize();

    @Override
    public Binding binding() {
        return Binding.FFM;
    }

    @Override
    public long pageSize() {
        return PAGE_SIZE;
    }

    @Override
    public long mmap(long address, long length, int prot, int flags, int fd, long offset) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            long r = (long) MMAP.invokeExact(errno, address, length, prot, flags, fd, offset);
            return r == -1 ? -Downcalls.errno(errno) : r;
        } catch (Throwable t) {
            throw Downcalls.unexpected("mmap", t);
        }
    }

    @Override
    public int munmap(long address, long length) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((int) MUNMAP.invokeExact(errno, address, length), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("munmap", t);
        }
    }

    @Override
    public int mprotect(long address, long length, int prot) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((int) MPROTECT.invokeExact(errno, address, length, prot), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("mprotect", t);
        }
    }

    @Override
    public int madvise(long address, long length, int advice) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((int) MADVISE.invokeExact(errno, address, length, advice), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("madvise", t);
        }
    }

    @Override
    public int geteuid() {
        try {
            return (int) GETEUID.invokeExact();
        } catch (Throwable t) {
            throw Downcalls.unexpected("geteuid", t);
        }
    }

    @Override
    public long effectiveCapabilities() {
        try (Arena arena = Arena.ofConfined()) {
            CapabilityAbi abi = new CapabilityAbi(arena);
            MemorySegment errno = Downcalls.errnoSlot();
            int r = (int) CAPGET.invokeExact(errno, abi.header().address(), abi.data().address());
            return r == -1 ? -Downcalls.errno(errno) : abi.effective();
        } catch (Throwable t) {
            throw Downcalls.unexpected("capget", t);
        }
    }

    @Override
    public int open(String path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cPath = arena.allocateFrom(path);
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((int) OPEN.invokeExact(errno, cPath.address(), flags, mode), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("open", t);
        }
    }

    @Override
    public int close(int fd) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((int) CLOSE.invokeExact(errno, fd), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("close", t);
        }
    }

    @Override
    public int fstat(int fd, long statbuf) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((int) FSTAT.invokeExact(errno, fd, statbuf), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("fstat", t);
        }
    }

    @Override
    public int ftruncate(int fd, long length) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((int) FTRUNCATE.invokeExact(errno, fd, length), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("ftruncate", t);
        }
    }

    @Override
    public int fallocate(int fd, int mode, long offset, long length) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((int) FALLOCATE.invokeExact(errno, fd, mode, offset, length), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("fallocate", t);
        }
    }

    @Override
    public long pread(int fd, long buffer, long count, long offset) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((long) PREAD.invokeExact(errno, fd, buffer, count, offset), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("pread", t);
        }
    }

    @Override
    public long pwrite(int fd, long buffer, long count, long offset) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((long) PWRITE.invokeExact(errno, fd, buffer, count, offset), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("pwrite", t);
        }
    }

    @Override
    public int pkeyAlloc(int flags, int accessRights) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((int) PKEY_ALLOC.invokeExact(errno, flags, accessRights), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("pkey_alloc", t);
        }
    }

    @Override
    public int pkeyFree(int pkey) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((int) PKEY_FREE.invokeExact(errno, pkey), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("pkey_free", t);
        }
    }

    @Override
    public int pkeyMprotect(long address, long length, int prot, int pkey) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((int) PKEY_MPROTECT.invokeExact(errno, address, length, prot, pkey), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("pkey_mprotect", t);
        }
    }

    @Override
    public int pkeyGet(int pkey) {
        if (!PkuSupport.enabledByOs()) {
            return -Errno.ENOSYS.value();
        }
        try {
            int r = (int) PKEY_GET.invokeExact(pkey);
            return r == -1 ? -Errno.EINVAL.value() : r;
        } catch (Throwable t) {
            throw Downcalls.unexpected("pkey_get", t);
        }
    }

    @Override
    public int pkeySet(int pkey, int accessRights) {
        if (!PkuSupport.enabledByOs()) {
            return -Errno.ENOSYS.value();
        }
        try {
            int r = (int) PKEY_SET.invokeExact(pkey, accessRights);
            return r == -1 ? -Errno.EINVAL.value() : r;
        } catch (Throwable t) {
            throw Downcalls.unexpected("pkey_set", t);
        }
    }

    @Override
    public int socket(int domain, int type, int protocol) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((int) SOCKET.invokeExact(errno, domain, type, protocol), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("socket", t);
        }
    }

    @Override
    public int bind(int fd, long address, int length) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((int) BIND.invokeExact(errno, fd, address, length), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("bind", t);
        }
    }

    @Override
    public int listen(int fd, int backlog) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((int) LISTEN.invokeExact(errno, fd, backlog), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("listen", t);
        }
    }

    @Override
    public int connect(int fd, long address, int length) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((int) CONNECT.invokeExact(errno, fd, address, length), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("connect", t);
        }
    }

    @Override
    public int accept(int fd) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((int) ACCEPT.invokeExact(errno, fd, 0L, 0L), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("accept", t);
        }
    }

    @Override
    public int getsockname(int fd, long address, int capacity) {
        return socketName(GETSOCKNAME, "getsockname", fd, address, capacity);
    }

    @Override
    public int getpeername(int fd, long address, int capacity) {
        return socketName(GETPEERNAME, "getpeername", fd, address, capacity);
    }

    /** getsockname or getpeername: the length is in/out, like getsockopt's. */
    private static int socketName(MethodHandle call, String name, int fd, long address, int capacity) {
        try {
            MemorySegment length = Downcalls.intSlot();
            length.set(JAVA_INT, 0, capacity);
            MemorySegment errno = Downcalls.errnoSlot();
            int r = (int) call.invokeExact(errno, fd, address, length.address());
            return r == -1 ? -Downcalls.errno(errno) : length.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw Downcalls.unexpected(name, t);
        }
    }

    @Override
    public int setsockopt(int fd, int level, int option, long value, int length) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((int) SETSOCKOPT.invokeExact(errno, fd, level, option, value, length), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("setsockopt", t);
        }
    }

    @Override
    public int getsockopt(int fd, int level, int option, long value, int capacity) {
        try {
            MemorySegment length = Downcalls.intSlot();
            length.set(JAVA_INT, 0, capacity);
            MemorySegment errno = Downcalls.errnoSlot();
            int r = (int) GETSOCKOPT.invokeExact(errno, fd, level, option, value, length.address());
            return r == -1 ? -Downcalls.errno(errno) : length.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw Downcalls.unexpected("getsockopt", t);
        }
    }

    @Override
    public int ioctlInt(int fd, long request) {
        try {
            MemorySegment result = Downcalls.intSlot();
            MemorySegment errno = Downcalls.errnoSlot();
            int r = (int) IOCTL.invokeExact(errno, fd, request, result.address());
            return r == -1 ? -Downcalls.errno(errno) : result.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw Downcalls.unexpected("ioctl", t);
        }
    }

    @Override
    public long recv(int fd, long buffer, long length, int flags) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((long) RECV.invokeExact(errno, fd, buffer, length, flags), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("recv", t);
        }
    }

    @Override
    public long send(int fd, long buffer, long length, int flags) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((long) SEND.invokeExact(errno, fd, buffer, length, flags), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("send", t);
        }
    }

    @Override
    public int socketpair(int domain, int type, int protocol, long pair) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((int) SOCKETPAIR.invokeExact(errno, domain, type, protocol, pair), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("socketpair", t);
        }
    }

    @Override
    public long sendmsg(int fd, long message, int flags) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((long) SENDMSG.invokeExact(errno, fd, message, flags), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("sendmsg", t);
        }
    }

    @Override
    public long recvmsg(int fd, long message, int flags) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((long) RECVMSG.invokeExact(errno, fd, message, flags), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("recvmsg", t);
        }
    }

    @Override
    public long kexecFileLoad(int kernelFd, int initrdFd, long commandLineLength, long commandLine, long flags) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            long r = (long) SYSCALL5.invokeExact(errno, SYS_KEXEC_FILE_LOAD, (long) kernelFd, (long) initrdFd,
                    commandLineLength, commandLine, flags);
            return r == -1 ? -Downcalls.errno(errno) : r;
        } catch (Throwable t) {
            throw Downcalls.unexpected("kexec_file_load", t);
        }
    }

    @Override
    public int reboot(int command) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((int) REBOOT.invokeExact(errno, command), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("reboot", t);
        }
    }

    @Override
    public void sync() {
        try {
            SYNC.invokeExact();
        } catch (Throwable t) {
            throw Downcalls.unexpected("sync", t);
        }
    }

    @Override
    public int msync(long address, long length, int flags) {
        try {
            MemorySegment errno = Downcalls.errnoSlot();
            return Downcalls.result((int) MSYNC.invokeExact(errno, address, length, flags), errno);
        } catch (Throwable t) {
            throw Downcalls.unexpected("msync", t);
        }
    }

    @Override
    public void cacheLineWriteback(long address, long length) {
        try {
            LibPmem.FLUSH.invokeExact(address, length);
        } catch (Throwable t) {
            throw Downcalls.unexpected("pmem_flush", t);
        }
    }

    @Override
    public void storeFence() {
        try {
            LibPmem.DRAIN.invokeExact();
        } catch (Throwable t) {
            throw Downcalls.unexpected("pmem_drain", t);
        }
    }

    @Override
    public void cacheLinePersist(long address, long length) {
        try {
            LibPmem.PERSIST.invokeExact(address, length);
        } catch (Throwable t) {
            throw Downcalls.unexpected("pmem_persist", t);
        }
    }
}
