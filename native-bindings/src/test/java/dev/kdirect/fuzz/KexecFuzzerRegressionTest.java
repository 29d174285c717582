package dev.kdirect.fuzz;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kdirect.Errno;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.KexecFlags;
import dev.kdirect.rules.BzImageRules;
import dev.kdirect.testing.RequiresRealKernel;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@link KexecFuzzer} found, kept: reproductions that replay on both kernels where kexec is real (they skip
 * elsewhere), and the one case the real side must never run.
 */
@RequiresRealKernel
class KexecFuzzerRegressionTest {
    @TempDir
    Path dir;

    /**
     * The first guest run of the fuzzer: the model answered 0 where 6.1 masks the kernel segment's candidate
     * ({@code end - memsz}, off a page boundary) with {@code ~(kernel_alignment - 1)} and sanity_check_segment_list
     * then refuses it (EADDRNOTAVAIL); whole pages that are no power of two are placed.
     */
    @Test
    void aKernelAlignmentThatIsNoPowerOfTwoIsMaskedAsTheKernelMasks() throws Exception {
        for (long alignment : new long[] {0x12345, 0x3000, 0xffffffffL}) {
            Differential.assertAgree(new KexecFuzzer(), List.of(
                    new KexecFuzzer.SetField(BzImageRules.KERNEL_ALIGNMENT, 4, alignment),
                    new KexecFuzzer.Load("read", 4L),
                    new KexecFuzzer.State()));
        }
    }

    /** An initrd placed top-down below a kernel segment that an alignment put at 2 GiB, and one that leaves none. */
    @Test
    void theInitrdIsPlacedBesideTheKernelSegment() throws Exception {
        Differential.assertAgree(new KexecFuzzer(), List.of(
                new KexecFuzzer.SetField(BzImageRules.KERNEL_ALIGNMENT, 4, 0x80000000L),
                new KexecFuzzer.Initrd("large", 1 << 20),
                new KexecFuzzer.Load("read", 0L),
                new KexecFuzzer.SetField(BzImageRules.INIT_SIZE, 4, 0x80000000L - 0x10000),
                new KexecFuzzer.Load("read", 0L),
                new KexecFuzzer.State()));
    }

    /**
     * A jump offset (0x201) of 0x80 or more: 6.1's bzImage64_load copies a negative number of header bytes and the
     * kernel oopses (the fuzzer's second guest run), so this never runs on the real kernel; the model refuses it,
     * except for a crash load, which fails before the copy.
     */
    @Test
    void aJumpOffsetThatTheKernelReadsAsNegativeIsRefusedByTheModel() throws Exception {
        Kernel model = new KexecFuzzer().model();
        try (KexecFuzzer.World w = new KexecFuzzer().open(model, dir)) {
            new KexecFuzzer.SetByte(0x201, 0x80).apply(w);
            assertThatThrownBy(() -> new KexecFuzzer.Load("read", KexecFlags.NO_INITRAMFS).apply(w))
                    .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("signed char");
            assertThat(new KexecFuzzer.Load("read", KexecFlags.NO_INITRAMFS | KexecFlags.ON_CRASH).apply(w))
                    .isEqualTo(Errno.EADDRNOTAVAIL.name());
            assertThat(new KexecFuzzer.State().apply(w)).isEqualTo("loaded 0, crash 0");
        } catch (KernelException e) {
            throw new AssertionError(e);
        }
    }
}
