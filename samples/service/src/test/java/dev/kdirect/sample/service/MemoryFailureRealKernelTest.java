package dev.kdirect.sample.service;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.MapFlags;
import dev.kdirect.Prot;
import dev.kdirect.pmem.MemoryFailure;
import dev.kdirect.pmem.PoisonedPageException;
import dev.kdirect.testing.RequiresRealKernel;
import java.lang.foreign.MemorySegment;
import org.junit.jupiter.api.Test;

/**
 * A real memory failure in the service's own memory: a page poisoned by its frame number (hwpoison_inject's
 * debugfs file, which works on every kernel, also those where madvise(MADV_HWPOISON) would signal the injecting
 * thread) is reported on access as a {@link PoisonedPageException} naming the page, and the JVM lives on.
 * Skipped without memory-failure support and root unless memory-failure is required; in {@code kdirect guest} it
 * is. The test retires a frame of the machine for good.
 */
class MemoryFailureRealKernelTest {

    @Test
    @RequiresRealKernel(Feature.MEMORY_FAILURE)
    void aPoisonedPageIsReportedOnAccessAndTheOtherPagesKeepTheirData() throws Exception {
        MemoryFailure failures = MemoryFailure.forFeature();
        Kernel kernel = failures.kernel();
        long page = kernel.pageSize();
        MemorySegment memory = kernel.mmap(MemorySegment.NULL, 2 * page, Prot.READ_WRITE,
                MapFlags.PRIVATE | MapFlags.ANONYMOUS, -1, 0);
        try {
            memory.set(JAVA_LONG, 0, 42L);
            memory.set(JAVA_LONG, page, 43L);
            failures.injectThroughDebugfs(memory.asSlice(page, page));

            PoisonedPageException e = assertThrows(PoisonedPageException.class,
                    () -> failures.guard(memory, () -> memory.get(JAVA_LONG, page)));
            assertEquals(page, e.offset());
            assertEquals(42L, failures.guard(memory.asSlice(0, page), () -> memory.get(JAVA_LONG, 0)));
        } finally {
            kernel.munmap(memory, 2 * page);
        }
    }
}
