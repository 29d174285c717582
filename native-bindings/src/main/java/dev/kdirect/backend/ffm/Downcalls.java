package dev.kdirect.backend.ffm;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.kdirect.FeatureUnavailableException;
import dev.kdirect.backend.MissingFunction;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
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
        return link(LIBC, name, descriptor, CAPTURE_ERRNO);
    }

    /** Like {@link #withErrno} for a C variadic function; arguments from {@code firstVariadic} on are variadic. */
    static MethodHandle withErrnoVariadic(String name, FunctionDescriptor descriptor, int firstVariadic) {
        return link(LIBC, name, descriptor, CAPTURE_ERRNO, Linker.Option.firstVariadicArg(firstVariadic));
    }

    /** A handle for a call that cannot fail (errno is not captured). */
    static MethodHandle plain(String name, FunctionDescriptor descriptor) {
        return link(LIBC, name, descriptor);
    }

    /**
     * A critical handle: no thread-state transition, for short calls that cannot block, fail or call back
     * (e.g. geteuid). Heap access stays off: kdirect passes only native memory.
     */
    static MethodHandle critical(String name, FunctionDescriptor descriptor) {
        return link(LIBC, name, descriptor, Linker.Option.critical(false));
    }

    /**
     * The downcall handle of {@code name} in {@code library}; when the library lacks the symbol, a handle of the
     * same type that throws {@code missing} when called. Linking never fails, so one absent function (pkey_alloc
     * in an old glibc) disables only what calls it, not the whole backend.
     */
    static MethodHandle link(SymbolLookup library, String name, FunctionDescriptor descriptor,
            Linker.Option... options) {
        return link(library, name, descriptor, () -> MissingFunction.inLibc(name), options);
    }

    static MethodHandle link(SymbolLookup library, String name, FunctionDescriptor descriptor,
            Supplier<? extends RuntimeException> missing, Linker.Option... options) {
        Optional<MemorySegment> symbol = library.find(name);
        if (symbol.isPresent()) {
            return LINKER.downcallHandle(symbol.get(), descriptor, options);
        }
        MethodType type = descriptor.toMethodType();
        if (List.of(options).contains(CAPTURE_ERRNO)) {
            type = type.insertParameterTypes(0, MemorySegment.class);
        }
        MethodHandle raise = MethodHandles.foldArguments(
                MethodHandles.throwException(type.returnType(), RuntimeException.class), SUPPLY.bindTo(missing));
        return MethodHandles.dropArguments(raise, 0, type.parameterList());
    }

    private static final MethodHandle SUPPLY;

    static {
        try {
            SUPPLY = MethodHandles.lookup().findVirtual(Supplier.class, "get", MethodType.methodType(Object.class))
                    .asType(MethodType.methodType(RuntimeException.class, Supplier.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
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

    /** What a downcall threw: a missing function's exception as it is, anything else wrapped. */
    static RuntimeException unexpected(String call, Throwable t) {
        if (t instanceof FeatureUnavailableException || t instanceof UnsupportedOperationException) {
            return (RuntimeException) t;
        }
        return new IllegalStateException("FFM downcall to " + call + " failed unexpectedly", t);
    }

    static long pageSize() {
        MethodHandle sysconf = plain("sysconf", FunctionDescriptor.of(JAVA_LONG, JAVA_INT));
        try {
            return (long) sysconf.invokeExact(SC_PAGESIZE);
        } catch (Throwable t) {
            throw unexpected("sysconf", t);
        }
    }
}
