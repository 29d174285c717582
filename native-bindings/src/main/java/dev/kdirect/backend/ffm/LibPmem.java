package dev.kdirect.backend.ffm;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.kdirect.backend.MissingFunction;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * PMDK's libpmem, for the cache-line instructions FFM cannot emit itself: pmem_flush picks clwb, clflushopt or
 * clflush from CPUID at library load (and nothing on eADR platforms), pmem_drain is sfence, pmem_persist both.
 * Loaded on first use; all are critical downcalls (no syscall, no errno, no blocking). Without the library, or
 * with one that lacks a function, each call throws {@link FeatureUnavailableException} for dax-pmem: the rest of
 * the backend works.
 */
final class LibPmem {
    static final String LIBRARY = MissingFunction.LIBPMEM;
    private static final Optional<SymbolLookup> LIB = load();
    static final MethodHandle FLUSH = link("pmem_flush", FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG));
    static final MethodHandle DRAIN = link("pmem_drain", FunctionDescriptor.ofVoid());
    static final MethodHandle PERSIST = link("pmem_persist", FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG));

    private LibPmem() {
    }

    private static Optional<SymbolLookup> load() {
        try {
            return Optional.of(SymbolLookup.libraryLookup(LIBRARY, Arena.global()));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static MethodHandle link(String name, FunctionDescriptor descriptor) {
        return Downcalls.link(LIB.orElse(symbol -> Optional.empty()), name, descriptor,
                () -> MissingFunction.inLibpmem(name, LIB.isPresent()), Linker.Option.critical(false));
    }
}
