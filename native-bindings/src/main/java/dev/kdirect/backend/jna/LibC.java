package dev.kdirect.backend.jna;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Platform;

/**
 * glibc functions bound once by JNA direct mapping (the pkey functions are in {@link LibPkeys}: registering a
 * class fails whole when one of its functions is missing). A failing call throws {@link LastErrorException} with errno.
 * Pointers are passed as {@code long}, as in the FFM backend.
 */
final class LibC {
    static {
        Native.register(LibC.class, Platform.C_LIBRARY_NAME);
    }

    private LibC() {
    }

    static native long mmap(long address, long length, int prot, int flags, int fd, long offset)
            throws LastErrorException;

    static native int munmap(long address, long length) throws LastErrorException;

    static native int mprotect(long address, long length, int prot) throws LastErrorException;

    static native int madvise(long address, long length, int advice) throws LastErrorException;

    static native int geteuid();

    static native long sysconf(int name);

    static native int capget(long header, long data) throws LastErrorException;

    static native int open(String path, int flags, int mode) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;

    static native int fstat(int fd, long statbuf) throws LastErrorException;

    static native int ftruncate(int fd, long length) throws LastErrorException;

    static native int fallocate(int fd, int mode, long offset, long length) throws LastErrorException;

    static native long pread(int fd, long buffer, long count, long offset) throws LastErrorException;

    static native long pwrite(int fd, long buffer, long count, long offset) throws LastErrorException;


    static native int socket(int domain, int type, int protocol) throws LastErrorException;

    static native int bind(int fd, long address, int length) throws LastErrorException;

    static native int listen(int fd, int backlog) throws LastErrorException;

    static native int connect(int fd, long address, int length) throws LastErrorException;

    static native int accept(int fd, long address, long length) throws LastErrorException;

    static native int getsockname(int fd, long address, long length) throws LastErrorException;

    static native int getpeername(int fd, long address, long length) throws LastErrorException;

    static native int getsockopt(int fd, int level, int option, long value, long length) throws LastErrorException;

    // ioctl is variadic; with integer and pointer arguments only, the x86-64 call is the same as a fixed one.
    static native int ioctl(int fd, long request, long argument) throws LastErrorException;

    static native long recv(int fd, long buffer, long length, int flags) throws LastErrorException;

    static native long send(int fd, long buffer, long length, int flags) throws LastErrorException;

    static native int socketpair(int domain, int type, int protocol, long pair) throws LastErrorException;

    static native long sendmsg(int fd, long message, int flags) throws LastErrorException;

    static native long recvmsg(int fd, long message, int flags) throws LastErrorException;

    static native int setsockopt(int fd, int level, int option, long value, int length) throws LastErrorException;

    static native int msync(long address, long length, int flags) throws LastErrorException;

    // glibc's reboot(cmd) passes LINUX_REBOOT_MAGIC1 and MAGIC2 itself.
    static native int reboot(int command) throws LastErrorException;

    static native void sync();

    // glibc's syscall() is variadic; with integer arguments only, the x86-64 call is the same as a fixed one.
    static native long syscall(long number, long a1, long a2, long a3, long a4, long a5) throws LastErrorException;
}
