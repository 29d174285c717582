package dev.kdirect.pkeys;

import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.NativeAccess;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A span of code in which the calling platform thread may access a {@link ProtectedRegion}: opening reads this
 * thread's PKRU rights for the region's key and writes them only if they differ (pkey_get, pkey_set: no
 * syscall); closing restores what was there before. Other threads are unaffected. Windows nest, and must be
 * closed in the reverse order of opening, on the thread that opened them (try-with-resources does both).
 *
 * <p>{@link #segment()} is a view of the region valid only inside the window, on this thread: after
 * {@link #close()} any access through it throws {@link IllegalStateException} instead of touching memory the
 * thread no longer may. A {@link Access#READ} window's view is read-only.
 */
public final class AccessWindow implements AutoCloseable {
    private final ProtectedRegion region;
    private final Kernel kernel;
    private final int key;
    private final Thread owner;
    private final Access access;
    private final int previousRights;
    private Arena viewScope;
    private MemorySegment view;
    private boolean closed;

    private AccessWindow(ProtectedRegion region, Kernel kernel, int key, Thread owner, Access access,
            int previousRights) {
        this.region = region;
        this.kernel = kernel;
        this.key = key;
        this.owner = owner;
        this.access = access;
        this.previousRights = previousRights;
    }

    static AccessWindow open(ProtectedRegion region, Access access) throws KernelException {
        Thread thread = Thread.currentThread();
        if (thread.isVirtual()) {
            throw new IllegalStateException("an access window needs a platform thread: PKRU belongs to the carrier"
                    + " thread, and a virtual thread may resume on another carrier without the rights. Open it on a"
                    + " platform thread (e.g. a dedicated executor)");
        }
        region.ensureOpen();
        Kernel kernel = region.key().kernel();
        int key = region.key().number();
        int previous = kernel.pkeyGet(key);
        if (previous != access.rights()) {
            kernel.pkeySet(key, access.rights());
        }
        return new AccessWindow(region, kernel, key, thread, access, previous);
    }

    /** What this window allows. */
    public Access access() {
        return access;
    }

    /** The region this window opens. */
    public ProtectedRegion region() {
        return region;
    }

    /**
     * The region's memory, usable only by this thread and only until the window closes; read-only for a
     * {@link Access#READ} window.
     */
    public MemorySegment segment() {
        checkOwner();
        if (closed) {
            throw new IllegalStateException("the access window is closed");
        }
        if (view == null) {
            viewScope = Arena.ofConfined();
            MemorySegment scoped;
            try {
                scoped = region.memory().reinterpret(viewScope, null);
            } catch (IllegalCallerException e) {
                throw NativeAccess.denied(e);
            }
            view = access == Access.READ_WRITE ? scoped : scoped.asReadOnly();
        }
        return view;
    }

    /** Restores the rights the thread had before; a second close does nothing. */
    @Override
    public void close() {
        checkOwner();
        if (closed) {
            return;
        }
        closed = true;
        if (viewScope != null) {
            viewScope.close();
        }
        if (previousRights != access.rights()) {
            try {
                kernel.pkeySet(key, previousRights);
            } catch (KernelException e) {
                throw new IllegalStateException("restoring the rights of protection key " + key + " failed", e);
            }
        }
    }

    private void checkOwner() {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("an access window belongs to the thread that opened it (" + owner
                    + "): PKRU is per thread");
        }
    }
}
