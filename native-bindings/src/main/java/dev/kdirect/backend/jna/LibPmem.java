package dev.kdirect.backend.jna;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;

/**
 * PMDK's libpmem through JNA direct mapping: pmem_flush, pmem_drain and pmem_persist, as in the FFM backend. Its
 * registration fails when libpmem is not installed; {@link JnaBackend} turns that into DAX pmem's unavailability.
 */
final class LibPmem {
    static {
        Native.register(LibPmem.class, "pmem");
    }

    private LibPmem() {
    }

    /** Whether libpmem itself loads (its registration failing then means a function is missing from it). */
    static boolean libraryLoads() {
        try {
            NativeLibrary.getInstance("pmem");
            return true;
        } catch (UnsatisfiedLinkError e) {
            return false;
        }
    }

    static native void pmem_flush(long address, long length);

    static native void pmem_drain();

    static native void pmem_persist(long address, long length);
}
