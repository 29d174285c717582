package dev.kdirect.fuzz;

import dev.kdirect.Advice;
import dev.kdirect.MapFlags;
import dev.kdirect.Prot;
import dev.kdirect.testing.RequiresRealKernel;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Programs of {@link MemoryFuzzer} on which the model once disagreed with the kernel (or which the issue named), replayed
 * on both ({@link Differential#assertAgree}; they need PKU, so the real side runs in the QEMU guest). The other
 * findings are contract tests: {@code MappingFlagsContractTest}, {@code ExecuteOnlyKeyContractTest}.
 */
@RequiresRealKernel
class MemoryFuzzRegressionTest {
    private static final int ANON_PRIVATE = MapFlags.PRIVATE | MapFlags.ANONYMOUS;
    private static final int ANON_SHARED = MapFlags.SHARED | MapFlags.ANONYMOUS;

    @Test
    void anExecuteOnlyMappingIsNoSourceOfACopyForTheThreadThatMappedIt() throws Exception {
        Differential.assertAgree(new MemoryFuzzer(), List.of(
                new MemoryFuzzer.Map(0, 0, 8192L, Prot.EXEC, ANON_PRIVATE),
                new MemoryFuzzer.CopyOut(0, 0, 0L, 8192L),
                new MemoryFuzzer.CopyOut(1, 0, 4096L, 8192L),
                new MemoryFuzzer.Protect(1, 0, 0L, 4096L, Prot.READ | Prot.EXEC),
                new MemoryFuzzer.CopyOut(0, 0, 0L, 8192L),
                new MemoryFuzzer.PkeyAlloc(0, 0, 0, 1)));
    }

    @Test
    void anExecuteOnlyMprotectDeniesTheCallingThreadAgain() throws Exception {
        Differential.assertAgree(new MemoryFuzzer(), List.of(
                new MemoryFuzzer.Map(1, 0, 4096L, Prot.READ_WRITE, ANON_SHARED),
                new MemoryFuzzer.PkeySet(1, 1, 0),
                new MemoryFuzzer.Protect(1, 0, 0L, 4096L, Prot.EXEC),
                new MemoryFuzzer.PkeyGet(1, 1),
                new MemoryFuzzer.PkeyFree(1, 1),
                new MemoryFuzzer.PkeyProtect(1, 0, 0L, 4096L, Prot.READ, 1)));
    }

    @Test
    void growsDownOverAHoleIsEnomemAndOverAPlainAreaEinval() throws Exception {
        Differential.assertAgree(new MemoryFuzzer(), List.of(
                new MemoryFuzzer.Map(0, 0, 12288L, Prot.READ_WRITE, ANON_PRIVATE),
                new MemoryFuzzer.Unmap(0, 0, 0L, 4096L),
                new MemoryFuzzer.Protect(0, 0, 0L, 4096L, Prot.READ | Prot.GROWSDOWN),
                new MemoryFuzzer.Protect(0, 0, 0L, 8192L, Prot.READ | Prot.GROWSDOWN)));
    }

    @Test
    void populatingForWritingWhereTheKeyDeniesWritesIsEinval() throws Exception {
        Differential.assertAgree(new MemoryFuzzer(), List.of(
                new MemoryFuzzer.Map(0, 0, 8192L, Prot.READ_WRITE, ANON_PRIVATE),
                new MemoryFuzzer.PkeyAlloc(0, 0, 2, 1),
                new MemoryFuzzer.PkeyProtect(0, 0, 4096L, 4096L, Prot.READ_WRITE, 2),
                new MemoryFuzzer.Advise(0, 0, 0L, 8192L, Advice.POPULATE_READ),
                new MemoryFuzzer.Advise(0, 0, 0L, 8192L, Advice.POPULATE_WRITE),
                new MemoryFuzzer.Advise(1, 0, 0L, 8192L, Advice.POPULATE_READ)));
    }

    @Test
    void aThreadInheritsItsCreatorsRightsAtCreationOnly() throws Exception {
        Differential.assertAgree(new MemoryFuzzer(), List.of(
                new MemoryFuzzer.PkeyAlloc(0, 0, 0, 1),
                new MemoryFuzzer.StartThread(0),
                new MemoryFuzzer.PkeySet(0, 2, 3),
                new MemoryFuzzer.PkeyGet(2, 2),
                new MemoryFuzzer.PkeyGet(1, 2),
                new MemoryFuzzer.StartThread(2),
                new MemoryFuzzer.PkeyGet(3, 2)));
    }

    @Test
    void keysRunOutWithEnospc() throws Exception {
        Differential.assertAgree(new MemoryFuzzer(), List.of(
                new MemoryFuzzer.PkeyAlloc(0, 0, 1, 16),
                new MemoryFuzzer.PkeyGet(0, 15)));
    }
}
