package dev.kdirect.pmem;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Binding;
import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import dev.kdirect.testing.RequiresRealKernel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The msync fallback observed on the real kernel, on any Linux: a region on a file that is not DAX is page cache,
 * and its flush must write the dirty pages of the range back. /proc/self/smaps counts a page of the mapping as
 * dirty while its pte or the page is dirty (fs/proc/task_mmu.c smaps_account); msync(MS_SYNC) writes the pages
 * back through vfs_fsync_range, which cleans both (folio_clear_dirty_for_io, folio_mkclean). On tmpfs (the guest's
 * /tmp) there is nothing to write back to: shmem's fsync is noop_fsync (mm/shmem.c) and the pages stay dirty.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(value = Binding.class, names = {"FFM", "JNA"})
@RequiresRealKernel
class MsyncWriteBackTest {
    @Parameter
    Binding binding;

    @TempDir
    Path dir;

    @Test
    void flushWritesBackTheDirtyPagesOfItsRange() throws Exception {
        Kernel kernel = Kernels.of(binding);
        long page = kernel.pageSize();
        boolean writesBack = !Files.getFileStore(dir).type().equals("tmpfs");
        try (PmemRegion region = PmemRegion.map(kernel, dir.resolve("paged"), 2 * page, false)) {
            assertThat(region.granularity()).isEqualTo(Granularity.PAGE);
            long address = region.readOnlyView().address();
            region.putLong(8, 1L);
            region.putLong(page + 8, 2L);
            assertThat(dirtyBytes(address)).as("both pages stored to").isEqualTo(2 * page);

            region.persist(page + 8, 8);
            // at most the first page stays dirty (the kernel's own write-back may have taken it meanwhile)
            long dirty = dirtyBytes(address);
            assertThat(dirty).as("after msync of the second page").isLessThanOrEqualTo(writesBack ? page : 2 * page)
                    .isGreaterThanOrEqualTo(writesBack ? 0 : 2 * page);
            region.persist(0, 2 * page);
            assertThat(dirtyBytes(address)).as("after msync of both").isEqualTo(writesBack ? 0 : 2 * page);
        }
    }

    /** Shared_Dirty + Private_Dirty of the mapping that holds {@code address}, from /proc/self/smaps. */
    private static long dirtyBytes(long address) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc/self/smaps"));
        for (int i = 0; i < lines.size(); i++) {
            String[] range = lines.get(i).split(" ", 2)[0].split("-");
            if (range.length == 2 && isHex(range[0]) && isHex(range[1])
                    && Long.compareUnsigned(Long.parseUnsignedLong(range[0], 16), address) <= 0
                    && Long.compareUnsigned(address, Long.parseUnsignedLong(range[1], 16)) < 0) {
                long kib = 0;
                for (int j = i + 1; j < lines.size() && !lines.get(j).startsWith("VmFlags"); j++) {
                    String[] field = lines.get(j).split("\\s+");
                    if (field[0].equals("Shared_Dirty:") || field[0].equals("Private_Dirty:")) {
                        kib += Long.parseLong(field[1]);
                    }
                }
                return kib * 1024;
            }
        }
        throw new AssertionError("no mapping holds 0x" + Long.toHexString(address) + " in /proc/self/smaps");
    }

    private static boolean isHex(String s) {
        return !s.isEmpty() && s.chars().allMatch(HexFormat::isHexDigit);
    }
}
