package dev.kdirect.backend.ffm;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * PMDK's libpmem, for the cache-line instructions FFM cannot emit itself: pmem_flush picks clwb, clflushopt or
 * clflush from CPUID at library load (and nothing on eADR platforms), pmem_drain is sfence, pmem_persist both.
 * Loaded on first use; all are critical downcalls (no syscall, no errno, no blocking).
 */
final class LibPmem {
    static final String LIBRARY = "libpmem.so.1";
    static final MethodHandle FLUSH;
    static final MethodHandle DRAIN;
    static final MethodHandle PERSIST;

    static {
        SymbolLookup lib;
        try {
            lib = SymbolLookup.libraryLookup(LIBRARY, Arena.global());
        } catch (IllegalArgumentException e) {
            throw new UnsupportedOperationException("cache-line write-back needs PMDK's " + LIBRARY
                    + ", which is not installed: apt-get install libpmem1", e);
        }
        Linker linker = Linker.nativeLinker();
        FLUSH = linker.downcallHandle(lib.find("pmem_flush").orElseThrow(),
                FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG), Linker.Option.critical(false));
        DRAIN = linker.downcallHandle(lib.find("pmem_drain").orElseThrow(), FunctionDescriptor.ofVoid(),
                Linker.Option.critical(false));
        PERSIST = linker.downcallHandle(lib.find("pmem_persist").orElseThrow(),
                FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG), Linker.Option.critical(false));
    }

    private LibPmem() {
    }
}
