package dev.kdirect.contract;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Advice;
import dev.kdirect.Binding;
import dev.kdirect.Kernel;
import dev.kdirect.MapFlags;
import dev.kdirect.MsyncFlags;
import dev.kdirect.OpenFlags;
import dev.kdirect.Prot;
import dev.kdirect.SocketConstants;
import dev.kdirect.testing.RequiresRealKernel;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The argument checks of mmap, mprotect, madvise and msync at their edges (lengths that overflow when rounded to
 * a page, ranges that wrap, flag combinations, descriptors that cannot be mapped), compared outcome by outcome:
 * each scenario runs on the real kernel and on a simulated process in the same run, and the simulated errno and
 * hint must equal the real ones (mm/mmap.c do_mmap, mm/mprotect.c do_mprotect_pkey, mm/madvise.c do_madvise,
 * mm/msync.c). None of these calls changes a mapping on the real kernel: each fails or covers only the test's own
 * pages.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Binding.class)
@RequiresRealKernel
class MemoryArgumentsContractTest extends RealVersusModel {
    private static final int ANON_PRIVATE = MapFlags.PRIVATE | MapFlags.ANONYMOUS;
    /** Above the 47-bit x86-64 user address space (TASK_SIZE 0x7ffffffff000). */
    private static final long PAST_TASK_SIZE = 0x800000000000L;
    /**
     * Past the top of the user address space with 4-level paging (47 bits) and with 5-level paging (56 bits, the QEMU
     * guest's -cpu max has la57): a munmap start or length that reaches here is past TASK_SIZE on either, where a length
     * that only reaches the 47-bit top would unmap the whole JVM above the test's pages on a 5-level kernel.
     */
    private static final long PAST_EVERY_TASK_SIZE = 1L << 56;
    private static final int PROT_SEM = Prot.SEM;
    private static final int PROT_GROWSDOWN = Prot.GROWSDOWN;
    private static final int PROT_GROWSUP = Prot.GROWSUP;
    private static final int MS_ASYNC = MsyncFlags.ASYNC;
    private static final int MS_INVALIDATE = MsyncFlags.INVALIDATE;
    private static final int MAP_HUGETLB = 0x40000;
    /** include/uapi/asm-generic/hugetlb_encode.h: log2 of the page size at MAP_HUGE_SHIFT (26). */
    private static final int MAP_HUGE_2MB = MapFlags.HUGE_2MB;
    private static final int MAP_HUGE_1GB = MapFlags.HUGE_1GB;
    private static final int MAP_HUGE_16GB = 34 << MapFlags.HUGE_SHIFT;

    @FunctionalInterface
    private interface Scenario {
        void run(Kernel k, Outcomes o, MemorySegment pages, long page) throws Exception;
    }

    /**
     * Runs the scenario on both kernels with three fresh private anonymous pages; the simulated outcomes must
     * equal the real ones. Returns the real outcomes.
     */
    private Map<String, String> agree(Scenario scenario) throws Exception {
        return ContractKernels.assertSimulatedAgrees(real, simulated, k -> {
            long page = k.pageSize();
            MemorySegment pages = k.mmap(MemorySegment.NULL, 3 * page, Prot.READ_WRITE, ANON_PRIVATE, -1, 0);
            Outcomes o = new Outcomes();
            try {
                scenario.run(k, o, pages, page);
            } finally {
                k.munmap(pages, 3 * page);
            }
            return o.asMap();
        });
    }

    @Test
    void mmapLengthsPastTheAddressSpaceOrWrappingToZeroAreEnomem() throws Exception {
        Map<String, String> a = agree((k, o, pages, page) -> {
            o.step("pastTaskSize", () -> k.mmap(MemorySegment.NULL, PAST_TASK_SIZE, Prot.READ, ANON_PRIVATE, -1, 0));
            o.step("wrapsToZero", () -> k.mmap(MemorySegment.NULL, -1, Prot.READ, ANON_PRIVATE, -1, 0));
            // MAP_FIXED: an unaligned address is refused before anything is mapped (__get_unmapped_area)
            o.step("fixedUnaligned", () -> k.mmap(pages.asSlice(1), page, Prot.READ, ANON_PRIVATE | MapFlags.FIXED,
                    -1, 0));
            // MAP_FIXED_NOREPLACE implies MAP_FIXED (do_mmap), so the same check refuses it
            o.step("fixedNoReplaceUnaligned", () -> k.mmap(pages.asSlice(1), page, Prot.READ,
                    ANON_PRIVATE | MapFlags.FIXED_NOREPLACE, -1, 0));
        });
        assertThat(a).containsEntry("pastTaskSize", "ENOMEM").containsEntry("wrapsToZero", "ENOMEM")
                .containsEntry("fixedUnaligned", "EINVAL").containsEntry("fixedNoReplaceUnaligned", "EINVAL");
    }

    @Test
    void munmapTakesAnyPageAlignedRangeAndRefusesUnalignedEmptyOrOutOfRangeOnes() throws Exception {
        // do_vmi_munmap (mm/mmap.c, 6.18): an unaligned start, a start past TASK_SIZE, a length past TASK_SIZE -
        // start and a length that rounds to nothing are EINVAL; pages no longer mapped are no error. Of two
        // consecutive pages one has address bit 12 set, so every aligned address, not only even pages, is taken.
        Map<String, String> a = agree((k, o, pages, page) -> {
            o.step("unaligned", () -> k.munmap(pages.asSlice(1), page));
            o.step("zeroLength", () -> k.munmap(pages, 0));
            o.step("startPastTaskSize", () -> k.munmap(MemorySegment.ofAddress(PAST_EVERY_TASK_SIZE), page));
            o.step("lengthPastTaskSize", () -> k.munmap(pages, PAST_EVERY_TASK_SIZE - pages.address()));
            o.step("secondPage", () -> k.munmap(pages.asSlice(page, page), page));
            o.step("thirdPage", () -> k.munmap(pages.asSlice(2 * page, page), page));
            o.step("bothAgain", () -> k.munmap(pages.asSlice(page, 2 * page), 2 * page));
        });
        assertThat(a).containsEntry("unaligned", "EINVAL").containsEntry("zeroLength", "EINVAL")
                .containsEntry("startPastTaskSize", "EINVAL").containsEntry("lengthPastTaskSize", "EINVAL")
                .containsEntry("secondPage", "ok").containsEntry("thirdPage", "ok").containsEntry("bothAgain", "ok");
    }

    @Test
    void fileMappingsCheckTheTypeThenTheFlagsThenWhetherTheFileCanBeMapped() throws Exception {
        Path file = Files.write(dir.resolve("f"), new byte[8192]);
        Map<String, String> a = agree((k, o, pages, page) -> {
            int fd = k.open(file.toString(), OpenFlags.RDWR, 0);
            int directory = k.open(dir.toString(), OpenFlags.RDONLY | OpenFlags.DIRECTORY, 0);
            int[] pair = k.socketpair(SocketConstants.AF_UNIX, SocketConstants.SOCK_STREAM, 0);
            try {
                o.step("noType", () -> k.mmap(MemorySegment.NULL, page, Prot.READ, 0, fd, 0));
                o.step("typeFour", () -> k.mmap(MemorySegment.NULL, page, Prot.READ, 0x04, fd, 0));
                // MAP_SHARED_VALIDATE refuses a flag the file system does not know (0x200000 is no flag at all)
                o.step("validateUnknownFlag", () -> k.mmap(MemorySegment.NULL, page, Prot.READ,
                        MapFlags.SHARED_VALIDATE | 0x200000, fd, 0));
                o.step("validateKnownFlags", () -> k.munmap(k.mmap(MemorySegment.NULL, page, Prot.READ,
                        MapFlags.SHARED_VALIDATE | MapFlags.POPULATE, fd, 0), page));
                o.step("directory", () -> k.mmap(MemorySegment.NULL, page, Prot.READ, MapFlags.PRIVATE, directory, 0));
                o.step("unixSocket", () -> k.mmap(MemorySegment.NULL, page, Prot.READ, MapFlags.SHARED, pair[0], 0));
            } finally {
                k.close(fd);
                k.close(directory);
                k.close(pair[0]);
                k.close(pair[1]);
            }
        });
        assertThat(a).containsEntry("noType", "EINVAL").containsEntry("validateUnknownFlag", "EOPNOTSUPP")
                .containsEntry("validateKnownFlags", "ok").containsEntry("directory", "ENODEV")
                .containsEntry("unixSocket", "ENODEV");
    }

    @Test
    void aFileOffsetPastTheLargestFileIsEoverflowBeforeTheTypeAndTheFlags() throws Exception {
        // do_mmap -> file_mmap_ok (mm/mmap.c, 6.1 and 6.18): a regular file's or a socket's pages must end below
        // MAX_LFS_FILESIZE, and the offset is unsigned, so a negative one is far past it; a directory's bound is
        // ULONG_MAX, which only the last pages reach: below them it fails for having no ->mmap
        Path file = Files.write(dir.resolve("o"), new byte[8192]);
        Map<String, String> a = agree((k, o, pages, page) -> {
            int fd = k.open(file.toString(), OpenFlags.RDWR, 0);
            int directory = k.open(dir.toString(), OpenFlags.RDONLY | OpenFlags.DIRECTORY, 0);
            int[] pair = k.socketpair(SocketConstants.AF_UNIX, SocketConstants.SOCK_STREAM, 0);
            try {
                o.step("negative", () -> k.mmap(MemorySegment.NULL, page, Prot.READ, MapFlags.PRIVATE, fd, -page));
                o.step("lowest", () -> k.mmap(MemorySegment.NULL, page, Prot.READ, MapFlags.SHARED, fd,
                        Long.MIN_VALUE));
                o.step("socket", () -> k.mmap(MemorySegment.NULL, page, Prot.READ, MapFlags.SHARED, pair[0], -page));
                o.step("directory", () -> k.mmap(MemorySegment.NULL, page, Prot.READ, MapFlags.PRIVATE, directory,
                        -page));
                o.step("directoryLowest", () -> k.mmap(MemorySegment.NULL, page, Prot.READ, MapFlags.PRIVATE,
                        directory, Long.MIN_VALUE));
                // checked before the mapping type (EINVAL) and MAP_SHARED_VALIDATE's flags (EOPNOTSUPP)
                o.step("beforeType", () -> k.mmap(MemorySegment.NULL, page, Prot.READ, 0x04, fd, -page));
                o.step("beforeFlags", () -> k.mmap(MemorySegment.NULL, page, Prot.READ,
                        MapFlags.SHARED_VALIDATE | 0x200000, fd, -page));
            } finally {
                k.close(fd);
                k.close(directory);
                k.close(pair[0]);
                k.close(pair[1]);
            }
        });
        assertThat(a).containsEntry("negative", "EOVERFLOW").containsEntry("lowest", "EOVERFLOW")
                .containsEntry("socket", "EOVERFLOW").containsEntry("directory", "EOVERFLOW")
                .containsEntry("directoryLowest", "ENODEV")
                .containsEntry("beforeType", "EOVERFLOW").containsEntry("beforeFlags", "EOVERFLOW");
    }

    @Test
    void validateAcceptsTheLegacyHugePageSizeBitsOnAPlainFileAndMapHugetlbNeedsAHugetlbfsFile() throws Exception {
        // do_mmap (mm/mmap.c, 6.1 and 6.18): LEGACY_MAP_MASK holds MAP_HUGE_2MB and MAP_HUGE_1GB (bits 26..30 as a
        // mask), so MAP_SHARED_VALIDATE keeps them on any file; MAP_HUGE_16GB's bit 31 lies outside (EOPNOTSUPP).
        // ksys_mmap_pgoff refuses MAP_HUGETLB on a file that is not hugetlbfs (EINVAL) before do_mmap's checks.
        Path file = Files.write(dir.resolve("h"), new byte[8192]);
        Map<String, String> a = agree((k, o, pages, page) -> {
            int fd = k.open(file.toString(), OpenFlags.RDWR, 0);
            try {
                for (int size : new int[] {MAP_HUGE_2MB, MAP_HUGE_1GB, MAP_HUGE_2MB | MAP_HUGE_1GB}) {
                    o.step("validate" + Integer.toHexString(size), () -> k.munmap(k.mmap(MemorySegment.NULL, page,
                            Prot.READ_WRITE, MapFlags.SHARED_VALIDATE | size, fd, 0), page));
                    o.step("private" + Integer.toHexString(size), () -> k.munmap(k.mmap(MemorySegment.NULL, page,
                            Prot.READ_WRITE, MapFlags.PRIVATE | size, fd, 0), page));
                }
                o.step("validate16GB", () -> k.mmap(MemorySegment.NULL, page, Prot.READ, MapFlags.SHARED_VALIDATE
                        | MAP_HUGE_16GB, fd, 0));
                o.step("shared16GB", () -> k.munmap(k.mmap(MemorySegment.NULL, page, Prot.READ, MapFlags.SHARED
                        | MAP_HUGE_16GB, fd, 0), page));
                o.step("hugetlbShared", () -> k.mmap(MemorySegment.NULL, page, Prot.READ, MapFlags.SHARED
                        | MAP_HUGETLB, fd, 0));
                o.step("hugetlbBeforeValidation", () -> k.mmap(MemorySegment.NULL, page, Prot.READ,
                        MapFlags.SHARED_VALIDATE | MAP_HUGETLB | 0x200000, fd, -page));
            } finally {
                k.close(fd);
            }
        });
        assertThat(a).containsEntry("validate54000000", "ok").containsEntry("validate78000000", "ok")
                .containsEntry("validate7c000000", "ok").containsEntry("private54000000", "ok")
                .containsEntry("validate16GB", "EOPNOTSUPP").containsEntry("shared16GB", "ok")
                .containsEntry("hugetlbShared", "EINVAL").containsEntry("hugetlbBeforeValidation", "EINVAL");
    }

    @Test
    void mprotectRefusesBothGrowthDirectionsAWrappingRangeAndGrowthOfAPlainMapping() throws Exception {
        Map<String, String> a = agree((k, o, pages, page) -> {
            o.step("bothGrows", () -> k.mprotect(pages, page, Prot.READ | PROT_GROWSDOWN | PROT_GROWSUP));
            o.step("wraps", () -> k.mprotect(pages, -page, Prot.READ));
            // do_mprotect_pkey: a length that PAGE_ALIGN rounds to 0 leaves end == start, which is ENOMEM too
            o.step("roundsToZero", () -> k.mprotect(pages, -1, Prot.READ));
            o.step("growsDownOnAPlainMapping", () -> k.mprotect(pages, page, Prot.READ | PROT_GROWSDOWN));
            o.step("growsUpOnAPlainMapping", () -> k.mprotect(pages, page, Prot.READ | PROT_GROWSUP));
            o.step("semaphoreBitIsAccepted", () -> k.mprotect(pages, page, Prot.READ_WRITE | PROT_SEM));
            o.step("lastPageExactly", () -> k.mprotect(pages.asSlice(2 * page), page, Prot.READ));
        });
        assertThat(a).containsEntry("bothGrows", "EINVAL").containsEntry("wraps", "ENOMEM")
                .containsEntry("roundsToZero", "ENOMEM").containsEntry("semaphoreBitIsAccepted", "ok");
    }

    @Test
    void growthOverAHoleIsEnomemAndOverAPlainMappingEinval() throws Exception {
        // do_mprotect_pkey (mm/mprotect.c): vma_find(start, end) must find an area, growing down one that starts
        // below end, growing up one that starts at or below start; then the area must be VM_GROWSDOWN or VM_GROWSUP
        Map<String, String> a = agree((k, o, pages, page) -> {
            k.munmap(pages.asSlice(page), page);
            o.step("downOverTheHole", () -> k.mprotect(pages.asSlice(page), page, Prot.READ | PROT_GROWSDOWN));
            o.step("upOverTheHole", () -> k.mprotect(pages.asSlice(page), page, Prot.READ | PROT_GROWSUP));
            o.step("downFromTheHoleIntoAMapping", () -> k.mprotect(pages.asSlice(page), 2 * page,
                    Prot.READ | PROT_GROWSDOWN));
            o.step("upFromTheHoleIntoAMapping", () -> k.mprotect(pages.asSlice(page), 2 * page,
                    Prot.READ | PROT_GROWSUP));
            o.step("downFromAMappingIntoTheHole", () -> k.mprotect(pages, 2 * page, Prot.READ | PROT_GROWSDOWN));
            o.step("upFromAMappingIntoTheHole", () -> k.mprotect(pages, 2 * page, Prot.READ | PROT_GROWSUP));
            o.step("plainOverTheHole", () -> k.mprotect(pages.asSlice(page), page, Prot.READ));
        });
        assertThat(a).containsEntry("downOverTheHole", "ENOMEM").containsEntry("upOverTheHole", "ENOMEM")
                .containsEntry("downFromTheHoleIntoAMapping", "EINVAL").containsEntry("upFromTheHoleIntoAMapping", "ENOMEM")
                .containsEntry("downFromAMappingIntoTheHole", "EINVAL").containsEntry("upFromAMappingIntoTheHole", "EINVAL");
    }

    @Test
    void madviseRefusesALengthThatRoundsToZeroAndARangeThatWraps() throws Exception {
        Map<String, String> a = agree((k, o, pages, page) -> {
            o.step("roundsToZero", () -> k.madvise(pages, -1, Advice.NORMAL));
            o.step("wraps", () -> k.madvise(pages, -2 * page, Advice.NORMAL));
            o.step("zeroLength", () -> k.madvise(pages, 0, Advice.NORMAL));
            o.step("oneByte", () -> k.madvise(pages, 1, Advice.NORMAL));
        });
        assertThat(a).containsEntry("roundsToZero", "EINVAL").containsEntry("wraps", "EINVAL")
                .containsEntry("oneByte", "ok");
    }

    @Test
    void msyncChecksTheFlagsTheAlignmentAndTheRangeInTheKernelsOrder() throws Exception {
        Map<String, String> a = agree((k, o, pages, page) -> {
            o.step("asyncAndSync", () -> k.msync(pages, page, MS_ASYNC | Kernel.MS_SYNC));
            o.step("unknownFlag", () -> k.msync(pages.asSlice(1), page, 8));
            o.step("unaligned", () -> k.msync(pages.asSlice(1), page, Kernel.MS_SYNC));
            o.step("wraps", () -> k.msync(pages, -page, Kernel.MS_SYNC));
            o.step("zeroLength", () -> k.msync(pages, 0, Kernel.MS_SYNC));
            o.step("invalidateAnonymous", () -> k.msync(pages, 3 * page, MS_INVALIDATE));
            o.step("async", () -> k.msync(pages, page, MS_ASYNC));
            k.munmap(pages.asSlice(page), page);
            o.step("overAHole", () -> k.msync(pages, 3 * page, Kernel.MS_SYNC));
            o.step("beforeTheHole", () -> k.msync(pages, page, Kernel.MS_SYNC));
        });
        assertThat(a).containsEntry("asyncAndSync", "EINVAL").containsEntry("unknownFlag", "EINVAL")
                .containsEntry("wraps", "ENOMEM").containsEntry("overAHole", "ENOMEM")
                .containsEntry("beforeTheHole", "ok");
    }
}
