package dev.kdirect.backend.ffm;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/** Building FFM downcall handles into glibc, and the per-thread slot the linker writes errno into. */
final class Downcalls {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final int SC_PAGESIZE = 30; // bits/confname.h

    // One slot per thread: allocating it per call would cost more than many of the syscalls themselves.
    private static final ThreadLocal<MemorySegment> ERRNO_SLOT =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE_LAYOUT));

    private static final ThreadLocal<MemorySegment> INT_SLOT =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(ValueLayout.JAVA_INT));

    private Downcalls() {
    }

    /** A handle whose first parameter is the errno capture segment. */
    static MethodHandle withErrno(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor, CAPTURE_ERRNO);
    }

    /** Like {@link #withErrno} for a C variadic function; arguments from {@code firstVariadic} on are variadic. */
    static MethodHandle withErrnoVariadic(String name, FunctionDescriptor descriptor, int firstVariadic) {
        return LINKER.downcallHandle(symbol(name), descriptor, CAPTURE_ERRNO,
                Linker.Option.firstVariadicArg(firstVariadic));
    }

    /** A handle for a call that cannot fail (errno is not captured). */
    static MethodHandle plain(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor);
    }

    /**
     * A critical handle: no thread-state transition, for short calls that cannot block, fail or call back
     * (e.g. geteuid). Heap access stays off: kdirect passes only native memory.
     */
    static MethodHandle critical(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor, Linker.Option.critical(false));
    }

    /**
     * This thread's int for a call's in/out length or result (socklen_t, ioctl's int): no allocation per call.
     * One call uses it at a time; its value is read before the next call on the thread.
     */
    static MemorySegment intSlot() {
        return INT_SLOT.get();
    }

    static MemorySegment errnoSlot() {
        return ERRNO_SLOT.get();
    }

    static int errno(MemorySegment slot) {
        return (int) ERRNO.get(slot, 0L);
    }

    /** The kernel convention: -1 from glibc becomes -errno. */
    static int result(int r, MemorySegment slot) {
        return r == -1 ? -errno(slot) : r;
    }

    static long result(long r, MemorySegment slot) {
        return r == -1 ? -errno(slot) : r;
    }

    static IllegalStateException unexpected(String call, Throwable t) {
        return new IllegalStateException("FFM downcall to " + call + " failed unexpectedly", t);
    }

    static long pageSize() {
        MethodHandle sysconf = LINKER.downcallHandle(symbol("sysconf"), FunctionDescriptor.of(JAVA_LONG, JAVA_INT));
        try {
            return (long) sysconf.invokeExact(SC_PAGESIZE);
        } catch (Throwable t) {
            throw unexpected("sysconf", t);
        }
    }

    private static MemorySegment symbol(String name) {
        return LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("glibc has no symbol " + name
                + " (kdirect needs glibc 2.27 or later on Linux)"));
    }
}
