package dev.kdirect.backend.ffm;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kdirect.Feature;
import dev.kdirect.FeatureUnavailableException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A function the C library lacks disables only what calls it: linking it gives a handle of the right type that
 * throws when called, for the feature it belongs to, instead of failing the backend's class initialisation.
 */
class LazyLinkingTest {
    private static final SymbolLookup EMPTY = name -> Optional.empty();

    @Test
    void aMissingPkeyFunctionIsTheUnavailabilityOfPkeysOnly() throws Throwable {
        MethodHandle alloc = Downcalls.link(EMPTY, "pkey_alloc", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT),
                Linker.Option.captureCallState("errno"));
        assertThat(alloc.type().parameterList()).containsExactly(MemorySegment.class, int.class, int.class);

        assertThatThrownBy(() -> {
            int unused = (int) alloc.invokeExact(Downcalls.errnoSlot(), 0, 0);
        }).isInstanceOfSatisfying(FeatureUnavailableException.class, e -> {
            assertThat(e.status().feature()).isEqualTo(Feature.PKEYS);
            assertThat(e.getMessage()).contains("glibc has no function pkey_alloc", "glibc 2.27");
        });
    }

    @Test
    void anyOtherMissingFunctionFailsWhenCalledNamingIt() {
        MethodHandle sync = Downcalls.link(EMPTY, "sync", FunctionDescriptor.ofVoid());
        assertThatThrownBy(() -> {
            sync.invokeExact(); // a statement: invokeExact's type is then ()void
        }).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("glibc has no function sync");
    }

    @Test
    void aPresentFunctionIsLinkedAsBefore() throws Throwable {
        MethodHandle getpid = Downcalls.link(Linker.nativeLinker().defaultLookup(), "getpid",
                FunctionDescriptor.of(JAVA_INT));
        assertThat((long) (int) getpid.invokeExact()).isEqualTo(ProcessHandle.current().pid());
    }

    @Test
    void withoutLibpmemOnlyTheCacheLineCallsFailAsDaxPmemUnavailable() {
        MethodHandle flush = Downcalls.link(EMPTY, "pmem_flush", FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG),
                () -> new FeatureUnavailableException(dev.kdirect.FeatureStatus.missing(Feature.DAX_PMEM,
                        "no libpmem", "apt-get install libpmem1", null)));
        assertThatThrownBy(() -> {
            flush.invokeExact(0L, 64L);
        }).isInstanceOfSatisfying(FeatureUnavailableException.class,
                e -> assertThat(e.status().feature()).isEqualTo(Feature.DAX_PMEM));
    }
}
