package dev.kdirect.pmem;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Advice;
import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import dev.kdirect.MapFlags;
import dev.kdirect.Prot;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The frame check the debugfs route runs right before it writes a frame number, on the real kernel of any Linux
 * (it reads /proc/kpageflags and /proc/kpagecount, root only; it poisons nothing): a written private anonymous
 * page of a MADV_NOHUGEPAGE region is ours alone; a shared page, a transparent huge page and a frame the page is not
 * mapped to are refused with the reason.
 */
class DebugfsFrameCheckTest {
    private static final long HUGE = 2 << 20;

    Kernel kernel;
    PageFrames frames;
    MemorySegment mapping;

    @BeforeEach
    void rootOnTheRealKernel() throws Exception {
        kernel = Kernels.ffm();
        Assumptions.assumeTrue(kernel.geteuid() == 0, "/proc/kpageflags is root's");
        frames = PageFrames.open(kernel);
    }

    @AfterEach
    void unmap() throws Exception {
        if (mapping != null) {
            kernel.munmap(mapping, mapping.byteSize());
        }
        frames.close();
    }

    private MemorySegment map(long size, int flags, int advice) throws Exception {
        mapping = kernel.mmap(MemorySegment.NULL, size, Prot.READ_WRITE, flags | MapFlags.ANONYMOUS, -1, 0);
        if (advice >= 0) {
            kernel.madvise(mapping, size, advice);
        }
        kernel.madvise(mapping, size, Advice.POPULATE_WRITE);
        return mapping;
    }

    private String check(MemorySegment page) throws Exception {
        long pfn = PageFrames.presentFrame(frames.entry(page.address()));
        assertThat(pfn).as("the page's frame (pagemap)").isPositive();
        return MemoryFailure.notOnlyOurs(frames, page.address(), pfn);
    }

    @Test
    void aWrittenPrivateAnonymousSmallPageIsOursAlone() throws Exception {
        MemorySegment pages = map(8 * kernel.pageSize(), MapFlags.PRIVATE, Advice.NOHUGEPAGE);
        assertThat(check(pages.asSlice(3 * kernel.pageSize(), kernel.pageSize()))).isNull();
    }

    @Test
    void aSharedAnonymousPageIsNotAnonymousToTheKernel() throws Exception {
        MemorySegment pages = map(kernel.pageSize(), MapFlags.SHARED, -1); // shmem: a file page, not PageAnon
        assertThat(check(pages)).contains("not a private anonymous page");
    }

    @Test
    void aFrameThePageIsNotMappedToIsRefused() throws Exception {
        MemorySegment pages = map(2 * kernel.pageSize(), MapFlags.PRIVATE, Advice.NOHUGEPAGE);
        long other = PageFrames.presentFrame(frames.entry(pages.address() + kernel.pageSize()));
        assertThat(MemoryFailure.notOnlyOurs(frames, pages.address(), other)).contains("the page moved to frame");
    }

    @Test
    void aTransparentHugePageIsRefusedAsCompound() throws Exception {
        String thp = Files.readString(Path.of("/sys/kernel/mm/transparent_hugepage/enabled"));
        Assumptions.assumeFalse(thp.contains("[never]"), "transparent huge pages are off");
        MemorySegment area = map(2 * HUGE, MapFlags.PRIVATE, -1);
        long aligned = (area.address() + HUGE - 1) & -HUGE;
        MemorySegment huge = area.asSlice(aligned - area.address(), HUGE);
        kernel.madvise(huge, HUGE, Advice.DONTNEED); // fault it again, as one huge page
        kernel.madvise(huge, HUGE, Advice.HUGEPAGE);
        kernel.madvise(huge, HUGE, Advice.POPULATE_WRITE);
        long flags = frames.pageFlags(PageFrames.presentFrame(frames.entry(huge.address())));
        Assumptions.assumeTrue((flags & PageFrames.KPF_THP) != 0, "the kernel gave no huge page (memory fragmented)");
        assertThat(check(huge.asSlice(5 * kernel.pageSize(), kernel.pageSize()))).contains("compound");
    }
}
