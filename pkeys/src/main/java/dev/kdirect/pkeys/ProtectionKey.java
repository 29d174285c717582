package dev.kdirect.pkeys;

import dev.kdirect.Binding;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.Kernels;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One allocated protection key (pkey_alloc(2)). x86-64 has 16 keys; key 0 tags all ordinary memory, so 15 can
 * be allocated per process, then pkey_alloc fails with ENOSPC.
 *
 * <p>The key is allocated with {@link Access#NONE} for the allocating thread; threads created later by it
 * inherit that at clone(), and threads created before the allocation start with access disabled for every key
 * but 0 (PKRU 0x55555554 after execve). Rights are per thread: an {@link AccessWindow} changes them for the
 * calling thread only.
 *
 * <p>{@link #close()} refuses while a {@link ProtectedRegion} still uses the key: the kernel's pkey_free would
 * leave the pages tagged and hand the same number to the next pkey_alloc, a use after free.
 */
public final class ProtectionKey implements AutoCloseable {
    private final Kernel kernel;
    private final int number;
    private final AtomicInteger regions = new AtomicInteger();
    private volatile boolean freed;

    private ProtectionKey(Kernel kernel, int number) {
        this.kernel = kernel;
        this.number = number;
    }

    /**
     * Allocates a key on the kernel for {@link Feature#PKEYS}: the real one where the CPU and kernel support
     * protection keys, the simulated one elsewhere.
     *
     * @throws KernelException ENOSPC when all keys are allocated
     */
    public static ProtectionKey allocate() throws KernelException {
        return allocate(Kernels.forFeature(Feature.PKEYS));
    }

    /**
     * Allocates a key on the given kernel, with no access for the calling thread.
     *
     * @throws KernelException ENOSPC (all keys allocated, or no PKU), EINVAL or ENOSYS (no PKU in the CPU or
     *     kernel)
     */
    public static ProtectionKey allocate(Kernel kernel) throws KernelException {
        return new ProtectionKey(kernel, kernel.pkeyAlloc(0, Access.NONE.rights()));
    }

    /** The key number, 1..15 on x86-64. */
    public int number() {
        return number;
    }

    /** The kernel the key was allocated on. */
    public Kernel kernel() {
        return kernel;
    }

    /**
     * Which kernel this key is on: a real binding, or {@link Binding#SIMULATED} (a model: no enforcement
     * by the hardware or the kernel).
     */
    public Binding binding() {
        return kernel.binding();
    }

    /** The calling thread's access to memory tagged with this key (pkey_get). */
    public Access access() {
        try {
            return Access.ofRights(kernel.pkeyGet(number));
        } catch (KernelException e) {
            throw new IllegalStateException("pkey_get failed for allocated key " + number, e);
        }
    }

    /** True until {@link #close()} freed the key. */
    public boolean isAllocated() {
        return !freed;
    }

    /**
     * Frees the key. The calling thread's rights for it are set to {@link Access#NONE} first, so threads it
     * creates later cannot inherit access to a future key with the same number.
     *
     * @throws IllegalStateException while regions still use the key: close them first
     */
    @Override
    public synchronized void close() throws KernelException {
        if (freed) {
            return;
        }
        int inUse = regions.get();
        if (inUse > 0) {
            throw new IllegalStateException("protection key " + number + " still protects " + inUse + " region(s):"
                    + " close them first (pkey_free would leave their pages tagged with a key the next pkey_alloc"
                    + " hands out again)");
        }
        kernel.pkeySet(number, Access.NONE.rights());
        kernel.pkeyFree(number);
        freed = true;
    }

    @Override
    public String toString() {
        return "ProtectionKey[" + number + " on " + kernel.binding().id() + (freed ? ", freed]" : "]");
    }

    /** A region starts using the key; fails once the key is freed. */
    synchronized void attach() {
        if (freed) {
            throw new IllegalStateException("protection key " + number + " is freed: allocate a new one");
        }
        regions.incrementAndGet();
    }

    void detach() {
        regions.decrementAndGet();
    }
}
