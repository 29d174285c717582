package dev.kdirect.pkeys;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import dev.kdirect.Binding;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.MapFlags;
import dev.kdirect.Prot;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Page-aligned off-heap memory tagged with a {@link ProtectionKey} (pkey_mprotect(2)), with page protection
 * read-write, so that the key alone decides who may touch it: only a thread inside an {@link AccessWindow}.
 *
 * <p>Access goes through a window's {@link AccessWindow#segment()}, or through this class's accessors, which
 * are plain memory accesses on the real kernel (an access the thread's PKRU forbids is a SIGSEGV with
 * SEGV_PKUERR that kills the JVM) and checked ones on the simulated kernel, which throw
 * {@link ProtectionKeyFault} instead. A syscall handed protected memory (write, pwrite) fails with EFAULT or
 * stops short at the first protected page: the kernel honours PKRU in copy_from_user too.
 *
 * <p>{@link #close()} unmaps memory this class mapped, or re-tags wrapped memory to key 0 (pkey_mprotect), and
 * then releases the key for {@link ProtectionKey#close()}.
 */
public final class ProtectedRegion implements AutoCloseable {
    private static final int DEFAULT_KEY = 0;

    private final ProtectionKey key;
    private final Kernel kernel;
    private final MemorySegment memory;
    private final boolean mapped;
    private final boolean modelChecksAccess;
    private volatile boolean closed;

    private ProtectedRegion(ProtectionKey key, MemorySegment memory, boolean mapped) {
        this.key = key;
        this.kernel = key.kernel();
        this.memory = memory;
        this.mapped = mapped;
        this.modelChecksAccess = kernel.binding() == Binding.SIMULATED;
    }

    /**
     * Maps {@code bytes} (rounded up to whole pages) of zeroed anonymous memory and tags it with {@code key}.
     *
     * @throws IllegalArgumentException when {@code bytes} is not positive
     * @throws IllegalStateException when the key is freed
     * @throws KernelException ENOMEM (no memory), EINVAL (the key is not allocated in this kernel)
     */
    public static ProtectedRegion allocate(ProtectionKey key, long bytes) throws KernelException {
        if (bytes <= 0) {
            throw new IllegalArgumentException("a protected region needs at least one byte, not " + bytes);
        }
        Kernel kernel = key.kernel();
        long length = roundUpToPages(bytes, kernel.pageSize());
        MemorySegment memory = kernel.mmap(MemorySegment.NULL, length, Prot.READ_WRITE,
                MapFlags.PRIVATE | MapFlags.ANONYMOUS, -1, 0);
        try {
            return tag(key, memory, true);
        } catch (KernelException | RuntimeException e) {
            kernel.munmap(memory, length);
            throw e;
        }
    }

    /**
     * Tags memory the caller already has (page-aligned, whole pages, mapped read-write, e.g. from
     * {@code Arena.allocate(size, pageSize)} on the real kernel) with {@code key}. Closing the region re-tags it
     * to key 0; the memory stays the caller's. The simulated kernel knows only memory mapped through its own
     * {@link Kernel#mmap}: anything else is unmapped there (ENOMEM).
     *
     * @throws IllegalArgumentException when the segment is not native, not page aligned or not whole pages
     * @throws KernelException ENOMEM (part of the range is not mapped), EINVAL (key not allocated)
     */
    public static ProtectedRegion protect(ProtectionKey key, MemorySegment pages) throws KernelException {
        long page = key.kernel().pageSize();
        if (!pages.isNative() || pages.address() % page != 0 || pages.byteSize() == 0
                || pages.byteSize() % page != 0) {
            throw new IllegalArgumentException("protection keys tag whole pages: the segment must be native memory at a"
                    + " multiple of " + page + " with a non-zero multiple of " + page + " bytes (address 0x"
                    + Long.toHexString(pages.address()) + ", " + pages.byteSize() + " bytes); allocate it with"
                    + " Arena.allocate(size, " + page + ")");
        }
        return tag(key, pages, false);
    }

    private static ProtectedRegion tag(ProtectionKey key, MemorySegment memory, boolean mapped)
            throws KernelException {
        key.attach();
        try {
            key.kernel().pkeyMprotect(memory, memory.byteSize(), Prot.READ_WRITE, key.number());
        } catch (KernelException | RuntimeException e) {
            key.detach();
            throw e;
        }
        return new ProtectedRegion(key, memory, mapped);
    }

    /**
     * Opens the region for the calling platform thread; use with try-with-resources.
     *
     * @throws IllegalStateException on a virtual thread, or when the region is closed
     */
    public AccessWindow open(Access access) throws KernelException {
        return AccessWindow.open(this, access);
    }

    /** The key that guards this region. */
    public ProtectionKey key() {
        return key;
    }

    /**
     * Which kernel this region is on: a real binding, or {@link Binding#SIMULATED} (a model: no enforcement
     * by the hardware or the kernel).
     */
    public Binding binding() {
        return kernel.binding();
    }

    /** The region's start address. */
    public long address() {
        return memory.address();
    }

    /** The region's size in bytes, whole pages. */
    public long byteSize() {
        return memory.byteSize();
    }

    /** Reads a byte; outside a window this faults (see the class comment). */
    public byte getByte(long offset) {
        checkAccess(offset, Byte.BYTES, false);
        return memory.get(JAVA_BYTE, offset);
    }

    /** Writes a byte; outside a read-write window this faults. */
    public void setByte(long offset, byte value) {
        checkAccess(offset, Byte.BYTES, true);
        memory.set(JAVA_BYTE, offset, value);
    }

    /** Reads 8 bytes (native byte order); outside a window this faults. */
    public long getLong(long offset) {
        checkAccess(offset, Long.BYTES, false);
        return memory.get(JAVA_LONG_UNALIGNED, offset);
    }

    /** Writes 8 bytes (native byte order); outside a read-write window this faults. */
    public void setLong(long offset, long value) {
        checkAccess(offset, Long.BYTES, true);
        memory.set(JAVA_LONG_UNALIGNED, offset, value);
    }

    /** Copies {@code length} bytes from the region at {@code offset} into {@code target}. */
    public void copyTo(long offset, byte[] target, int targetIndex, int length) {
        checkAccess(offset, length, false);
        MemorySegment.copy(memory, JAVA_BYTE, offset, target, targetIndex, length);
    }

    /** Copies {@code length} bytes from {@code source} into the region at {@code offset}. */
    public void copyFrom(byte[] source, int sourceIndex, int length, long offset) {
        checkAccess(offset, length, true);
        MemorySegment.copy(source, sourceIndex, memory, JAVA_BYTE, offset, length);
    }

    /**
     * Unmaps the region (or re-tags wrapped memory to key 0) and releases its key.
     *
     * @throws KernelException only if the kernel refuses to unmap or re-tag
     */
    @Override
    public synchronized void close() throws KernelException {
        if (closed) {
            return;
        }
        closed = true;
        if (mapped) {
            kernel.munmap(memory, memory.byteSize());
        } else {
            kernel.pkeyMprotect(memory, memory.byteSize(), Prot.READ_WRITE, DEFAULT_KEY);
        }
        key.detach();
    }

    @Override
    public String toString() {
        return "ProtectedRegion[0x" + Long.toHexString(address()) + ", " + byteSize() + " bytes, key "
                + key.number() + (closed ? ", closed]" : "]");
    }

    MemorySegment memory() {
        return memory;
    }

    void ensureOpen() {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
    }

    /** The simulated MMU: a load or store the thread's PKRU forbids faults (arch/x86/mm/fault.c, asm/pkru.h). */
    private void checkAccess(long offset, long length, boolean write) {
        ensureOpen();
        if (!modelChecksAccess) {
            return; // the MMU checks it
        }
        Objects.checkFromIndexSize(offset, length, memory.byteSize());
        Access allowed = key.access();
        if (!allowed.allows(write ? Access.READ_WRITE : Access.READ)) {
            throw new ProtectionKeyFault(key.number(), memory.address() + offset, write, allowed);
        }
    }

    private static long roundUpToPages(long bytes, long page) {
        return (bytes + page - 1) / page * page;
    }
}
