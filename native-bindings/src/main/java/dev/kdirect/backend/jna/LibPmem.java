package dev.kdirect.backend.jna;

import com.sun.jna.Native;

/** PMDK's libpmem through JNA direct mapping: pmem_flush, pmem_drain and pmem_persist, as in the FFM backend. */
final class LibPmem {
    static {
        try {
            Native.register(LibPmem.class, "pmem");
        } catch (UnsatisfiedLinkError e) {
            throw new UnsupportedOperationException("cache-line write-back needs PMDK's libpmem.so.1, which is not"
                    + " installed: apt-get install libpmem1", e);
        }
    }

    private LibPmem() {
    }

    static native void pmem_flush(long address, long length);

    static native void pmem_drain();

    static native void pmem_persist(long address, long length);
}
