package dev.kdirect.contract;

import static dev.kdirect.contract.ContractKernels.assertErrno;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Binding;
import dev.kdirect.Errno;
import dev.kdirect.Kernel;
import dev.kdirect.MapFlags;
import dev.kdirect.MsyncFlags;
import dev.kdirect.OpenFlags;
import dev.kdirect.Prot;
import dev.kdirect.testing.RequiresRealKernel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Mappings of files that reach past the end of the file, and private mappings of files opened read-only, on every
 * binding (cases the pmem fuzzer met, {@code dev.kdirect.fuzz.PmemFuzzer}). do_mmap (mm/mmap.c, 6.1 and 6.18) does
 * not look at i_size: pages past the end are mapped, and only an access to one is SIGBUS (filemap_fault), so these
 * tests never touch one. A private mapping's pages not yet written show the file's later changes.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Binding.class)
@RequiresRealKernel
class FileMappingContractTest {
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

    private int open(Path file, int access) throws Exception {
        return kernel.open(file.toString(), access | OpenFlags.CREAT | OpenFlags.CLOEXEC, 0600);
    }

    @Test
    void pagesPastTheEndOfTheFileAreMappedAndTheFilesPagesWork() throws Exception {
        Path file = dir.resolve("short");
        int fd = open(file, OpenFlags.RDWR);
        try {
            kernel.ftruncate(fd, 100);
            for (int flags : new int[] {MapFlags.SHARED, MapFlags.SHARED_VALIDATE, MapFlags.PRIVATE}) {
                MemorySegment m = kernel.mmap(MemorySegment.NULL, 4 * page, Prot.READ_WRITE, flags, fd, 0)
                        .reinterpret(4 * page);
                m.set(JAVA_LONG, 8, 0x5151L); // the file's one page
                kernel.msync(m, 4 * page, MsyncFlags.SYNC); // the whole mapping, past the end included
                kernel.munmap(m.asSlice(2 * page), page); // a page past the end
                kernel.munmap(m, 4 * page);
            }
            assertThat(Files.size(file)).isEqualTo(100);
            // an empty file, and an offset past the end: nothing of the file is mapped, the mapping still is
            kernel.ftruncate(fd, 0);
            MemorySegment empty = kernel.mmap(MemorySegment.NULL, 1, Prot.READ, MapFlags.SHARED, fd, 0);
            kernel.munmap(empty, page);
            MemorySegment beyond = kernel.mmap(MemorySegment.NULL, page, Prot.READ, MapFlags.PRIVATE, fd, 8 * page);
            kernel.munmap(beyond, page);
        } finally {
            kernel.close(fd);
        }
    }

    @Test
    void aPrivateMappingOfAReadOnlyFileShowsLaterWritesOnPagesItDidNotWrite() throws Exception {
        Path file = dir.resolve("shared");
        int writer = open(file, OpenFlags.RDWR);
        int reader = open(file, OpenFlags.RDONLY);
        try (Arena arena = Arena.ofConfined()) {
            kernel.ftruncate(writer, 2 * page);
            MemorySegment m = kernel.mmap(MemorySegment.NULL, 2 * page, Prot.READ_WRITE, MapFlags.PRIVATE, reader, 0)
                    .reinterpret(2 * page);
            assertErrno(Errno.EACCES, () -> kernel.mmap(MemorySegment.NULL, page, Prot.READ_WRITE, MapFlags.SHARED,
                    reader, 0));
            m.set(JAVA_LONG, 0, 7L); // copy-on-write: page 0 is the process's own now
            MemorySegment data = arena.allocate(JAVA_LONG);
            data.set(JAVA_LONG, 0, 9L);
            kernel.pwrite(writer, data, 0);
            kernel.pwrite(writer, data, page);
            assertThat(new long[] {m.get(JAVA_LONG, 0), m.get(JAVA_LONG, page)}).containsExactly(7L, 9L);
            kernel.munmap(m, 2 * page);
        } finally {
            kernel.close(reader);
            kernel.close(writer);
        }
    }
}
