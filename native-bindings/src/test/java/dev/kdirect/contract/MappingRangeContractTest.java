package dev.kdirect.contract;

import static dev.kdirect.contract.ContractKernels.assertErrno;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Advice;
import dev.kdirect.Binding;
import dev.kdirect.Errno;
import dev.kdirect.Kernel;
import dev.kdirect.MapFlags;
import dev.kdirect.OpenFlags;
import dev.kdirect.Prot;
import dev.kdirect.testing.RequiresRealKernel;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * madvise, mprotect and a copy to user memory on part of a mapping: exactly the pages asked for change, on every
 * binding (mm/madvise.c, mm/mprotect.c, Linux 6.1; the real bindings give the expected values in the same run).
 * Complements {@link MemoryContractTest}, which checks the errors and whole mappings.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Binding.class)
@RequiresRealKernel
class MappingRangeContractTest {
    private static final int ANON_PRIVATE = MapFlags.PRIVATE | MapFlags.ANONYMOUS;
    private static final int ANON_SHARED = MapFlags.SHARED | MapFlags.ANONYMOUS;

    @Parameter
    Binding binding;

    @TempDir
    Path dir;

    Kernel kernel;
    long page;

    @BeforeEach
    void setUp() {
        kernel = ContractKernels.kernel(binding);
        page = kernel.pageSize();
    }

    @Test
    void freeAndWipeOnForkTakePrivateAnonymousMemory() throws Exception {
        // madvise_free_single_vma needs vma_is_anonymous; MADV_WIPEONFORK refuses only file or shared mappings.
        MemorySegment m = kernel.mmap(MemorySegment.NULL, page, Prot.READ_WRITE, ANON_PRIVATE, -1, 0);
        kernel.madvise(m, page, Advice.FREE);
        kernel.madvise(m, page, Advice.WIPEONFORK);
        kernel.munmap(m, page);
    }

    @Test
    void aCopyFromOrToPagesUnmappedFromAMappingStopsThere() throws Exception {
        // a fuzzer's find: the model took memory it had unmapped for the JVM's, accessible
        MemorySegment m = kernel.mmap(MemorySegment.NULL, 3 * page, Prot.READ_WRITE, ANON_PRIVATE, -1, 0);
        m.set(JAVA_LONG, 0, 42L);
        kernel.munmap(m.asSlice(page), 2 * page);
        Path file = Files.createTempFile(dir, "copy", ".bin");
        int fd = kernel.open(file.toString(), OpenFlags.RDWR | OpenFlags.CLOEXEC, 0);
        try {
            assertThat(kernel.pwrite(fd, m.asSlice(0, 2 * page), 0)).isEqualTo(page);
            assertErrno(Errno.EFAULT, () -> kernel.pwrite(fd, m.asSlice(page, 16), 0));
            assertErrno(Errno.EFAULT, () -> kernel.pread(fd, m.asSlice(2 * page, 16), 0));
            assertThat(kernel.pread(fd, m.asSlice(page - 8, 16), 0)).isEqualTo(8);
        } finally {
            kernel.close(fd);
        }
        kernel.munmap(m, page);
    }

    @Test
    void removeAndDontneedChangeOnlyTheMiddlePage() throws Exception {
        // MADV_REMOVE punches a hole in the shmem behind a shared mapping; MADV_DONTNEED drops private pages.
        for (int flags : new int[] {ANON_SHARED, ANON_PRIVATE}) {
            MemorySegment m = kernel.mmap(MemorySegment.NULL, 3 * page, Prot.READ_WRITE, flags, -1, 0);
            for (int i = 0; i < 3; i++) {
                m.set(JAVA_LONG, i * page, 10L + i);
            }
            kernel.madvise(m.asSlice(page), page, flags == ANON_SHARED ? Advice.REMOVE : Advice.DONTNEED);
            assertThat(new long[] {m.get(JAVA_LONG, 0), m.get(JAVA_LONG, page), m.get(JAVA_LONG, 2 * page)})
                    .as("flags %x", flags)
                    .containsExactly(10L, 0L, 12L);
            kernel.munmap(m, 3 * page);
        }
    }

    @Test
    void dontneedOnAPrivateFileMappingBringsBackTheFileOnlyInItsRange() throws Exception {
        // Each page of the file holds its own byte; mprotect on the first page splits the mapping, so the
        // dropped page is re-read from the upper part's own file offset (mm/mmap.c split_vma: vm_pgoff moves).
        byte[] data = new byte[(int) (3 * page)];
        for (int i = 0; i < 3; i++) {
            Arrays.fill(data, (int) (i * page), (int) ((i + 1) * page), (byte) (i + 1));
        }
        int fd = kernel.open(Files.write(dir.resolve("f"), data).toString(), OpenFlags.RDWR | OpenFlags.CLOEXEC, 0);
        try {
            MemorySegment m = kernel.mmap(MemorySegment.NULL, 3 * page, Prot.READ_WRITE, MapFlags.PRIVATE, fd, 0);
            for (int i = 0; i < 3; i++) {
                m.set(JAVA_LONG, i * page + 8, -1L);
            }
            kernel.mprotect(m, page, Prot.READ);
            kernel.madvise(m.asSlice(page), page, Advice.DONTNEED);
            assertThat(new long[] {m.get(JAVA_LONG, 8), m.get(JAVA_LONG, page + 8), m.get(JAVA_LONG, 2 * page + 8)})
                    .containsExactly(-1L, 0x0202020202020202L, -1L);
            kernel.munmap(m, 3 * page);
        } finally {
            kernel.close(fd);
        }
    }

    @Test
    void dontneedOnTheLastPageOfAPrivateFileMappingReReadsThatPagesOwnOffset() throws Exception {
        // zap_page_range drops the private copy; the next access faults in the file page at vm_pgoff plus the
        // page's distance from the area's start
        byte[] data = new byte[(int) (3 * page)];
        for (int i = 0; i < 3; i++) {
            Arrays.fill(data, (int) (i * page), (int) ((i + 1) * page), (byte) (i + 1));
        }
        int fd = kernel.open(Files.write(dir.resolve("last"), data).toString(), OpenFlags.RDWR | OpenFlags.CLOEXEC,
                0);
        try {
            MemorySegment m = kernel.mmap(MemorySegment.NULL, 3 * page, Prot.READ_WRITE, MapFlags.PRIVATE, fd, 0);
            for (int i = 0; i < 3; i++) {
                m.set(JAVA_LONG, i * page + 8, -1L);
            }
            kernel.madvise(m.asSlice(2 * page), page, Advice.DONTNEED);
            assertThat(new long[] {m.get(JAVA_LONG, 8), m.get(JAVA_LONG, page + 8), m.get(JAVA_LONG, 2 * page + 8)})
                    .containsExactly(-1L, -1L, 0x0303030303030303L);
            kernel.munmap(m, 3 * page);
        } finally {
            kernel.close(fd);
        }
    }

    @Test
    void aSharedMappingWhoseLastPageIsPartlyPastTheEndLeavesTheFilesSize() throws Exception {
        // a shared file mapping from offset one page over a file that ends ten bytes into the next page: those ten
        // bytes are the file's, the rest of the page reads zero, and neither msync, MADV_DONTNEED nor MADV_REMOVE
        // (a hole punched with the size kept) changes the file's size (mm/filemap.c, mm/madvise.c)
        byte[] data = new byte[(int) page + 10];
        Arrays.fill(data, (byte) 'x');
        Path file = Files.write(dir.resolve("partial"), data);
        int fd = kernel.open(file.toString(), OpenFlags.RDWR | OpenFlags.CLOEXEC, 0);
        try {
            MemorySegment m = kernel.mmap(MemorySegment.NULL, page, Prot.READ_WRITE, MapFlags.SHARED, fd, page);
            assertThat(new byte[] {m.get(JAVA_BYTE, 9), m.get(JAVA_BYTE, 10)}).containsExactly((byte) 'x', (byte) 0);
            kernel.msync(m, page, Kernel.MS_SYNC);
            kernel.madvise(m, page, Advice.DONTNEED);
            assertThat(m.get(JAVA_BYTE, 0)).isEqualTo((byte) 'x');
            kernel.madvise(m, page, Advice.REMOVE);
            kernel.munmap(m, page);
        } finally {
            kernel.close(fd);
        }
        byte[] after = Files.readAllBytes(file);
        assertThat(after).hasSize((int) page + 10);
        assertThat(Arrays.copyOfRange(after, (int) page, after.length)).containsOnly(0);
        assertThat(after[(int) page - 1]).isEqualTo((byte) 'x');
    }

    @Test
    void aReadOnlyFileSharedMappingMayBeMadeReadOnlyAgainButNotWritable() throws Exception {
        // mm/mprotect.c: a new PROT_WRITE needs VM_MAYWRITE, which a shared mapping of an O_RDONLY file lacks.
        Path file = Files.write(dir.resolve("r"), new byte[(int) page]);
        int fd = kernel.open(file.toString(), OpenFlags.RDONLY | OpenFlags.CLOEXEC, 0);
        try {
            MemorySegment m = kernel.mmap(MemorySegment.NULL, page, Prot.READ, MapFlags.SHARED, fd, 0);
            kernel.mprotect(m, page, Prot.READ);
            kernel.mprotect(m, page, Prot.NONE);
            assertErrno(Errno.EACCES, () -> kernel.mprotect(m, page, Prot.READ_WRITE));
            kernel.munmap(m, page);
        } finally {
            kernel.close(fd);
        }
    }

    @Test
    void aReadFillsAPageThatEndsRightBeforeAnInaccessibleOne() throws Exception {
        // copy_to_user stops only at the first byte it cannot write: a buffer ending exactly at a PROT_NONE page
        // is filled whole.
        byte[] data = new byte[(int) page];
        Arrays.fill(data, (byte) 1);
        int fd = kernel.open(Files.write(dir.resolve("p"), data).toString(), OpenFlags.RDONLY | OpenFlags.CLOEXEC,
                0);
        MemorySegment m = kernel.mmap(MemorySegment.NULL, 2 * page, Prot.READ_WRITE, ANON_PRIVATE, -1, 0);
        try {
            kernel.mprotect(m.asSlice(page), page, Prot.NONE);
            assertThat(kernel.pread(fd, m.asSlice(0, page), 0)).isEqualTo(page);
            assertThat(m.get(JAVA_LONG, page - 8)).isEqualTo(0x0101010101010101L);
        } finally {
            kernel.munmap(m, 2 * page);
            kernel.close(fd);
        }
    }

    @Test
    void nothingToCopyIsNoFaultEvenIntoOrFromAnInaccessiblePage() throws Exception {
        // filemap_read stops at the end of the file before copying, and a zero count returns 0 before any copy
        // (vfs_read, vfs_write): no EFAULT without a byte due
        int fd = kernel.open(Files.write(dir.resolve("short"), new byte[] {1, 2, 3}).toString(),
                OpenFlags.RDWR | OpenFlags.CLOEXEC, 0);
        MemorySegment m = kernel.mmap(MemorySegment.NULL, page, Prot.READ, ANON_PRIVATE, -1, 0);
        try {
            assertThat(kernel.pread(fd, m, 3)).isZero();
            assertThat(kernel.pread(fd, m.asSlice(0, 0), 0)).isZero();
            kernel.mprotect(m, page, Prot.NONE);
            assertThat(kernel.pwrite(fd, m.asSlice(0, 0), 0)).isZero();
            assertErrno(Errno.EFAULT, () -> kernel.pwrite(fd, m, 0));
        } finally {
            kernel.munmap(m, page);
            kernel.close(fd);
        }
    }

    @Test
    void aReadIntoAReadOnlyMappingIsEfault() throws Exception {
        // copy_to_user into a page without PROT_WRITE copies nothing: filemap_read returns -EFAULT.
        int fd = kernel.open(Files.write(dir.resolve("ro"), new byte[] {1, 2, 3}).toString(),
                OpenFlags.RDONLY | OpenFlags.CLOEXEC, 0);
        MemorySegment m = kernel.mmap(MemorySegment.NULL, page, Prot.READ, ANON_PRIVATE, -1, 0);
        try {
            assertErrno(Errno.EFAULT, () -> kernel.pread(fd, m, 0));
        } finally {
            kernel.munmap(m, page);
            kernel.close(fd);
        }
    }

    @Test
    void theFirstAndLastAdviceOfTheContiguousRangeAreValid() throws Exception {
        // madvise_behavior_valid (mm/madvise.c): MADV_NORMAL (0) and MADV_POPULATE_WRITE (23) are both accepted.
        MemorySegment m = kernel.mmap(MemorySegment.NULL, page, Prot.READ_WRITE, ANON_PRIVATE, -1, 0);
        kernel.madvise(m, page, Advice.NORMAL);
        kernel.madvise(m, page, Advice.POPULATE_WRITE);
        kernel.munmap(m, page);
    }
}
