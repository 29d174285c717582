package dev.kdirect.contract;

import static dev.kdirect.contract.ContractKernels.assertErrno;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Advice;
import dev.kdirect.Binding;
import dev.kdirect.Capability;
import dev.kdirect.Credentials;
import dev.kdirect.Errno;
import dev.kdirect.Kernel;
import dev.kdirect.MapFlags;
import dev.kdirect.OpenFlags;
import dev.kdirect.Prot;
import dev.kdirect.testing.RequiresRealKernel;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What the memory fuzzer ({@code dev.kdirect.fuzz.MemoryFuzzer}) found the model getting wrong, held to the kernel on
 * every binding: MAP_GROWSDOWN and MAP_LOCKED areas, and which pages a copy by the kernel may read or write
 * (Linux 6.1 as 6.18).
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Binding.class)
@RequiresRealKernel
class MappingFlagsContractTest {
    private static final int ANON_PRIVATE = MapFlags.PRIVATE | MapFlags.ANONYMOUS;

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
    void aSharedAnonymousMappingCannotGrowDown() throws Exception {
        // do_mmap (mm/mmap.c): MAP_SHARED anonymous memory with VM_GROWSDOWN is EINVAL; a private one is a stack area
        assertErrno(Errno.EINVAL, () -> kernel.mmap(MemorySegment.NULL, page, Prot.READ_WRITE,
                MapFlags.SHARED | MapFlags.ANONYMOUS | MapFlags.GROWSDOWN, -1, 0));
        MemorySegment m = kernel.mmap(MemorySegment.NULL, page, Prot.READ_WRITE,
                ANON_PRIVATE | MapFlags.GROWSDOWN, -1, 0);
        kernel.munmap(m, page);
    }

    @Test
    void aLockedMappingRefusesTheAdviceThatWouldDropOrReclaimItsPagesButDontneedLocked() throws Exception {
        // madvise_dontneed_free_valid_vma and can_madv_lru_vma (mm/madvise.c) refuse VM_LOCKED; MADV_DONTNEED_LOCKED
        // drops the pages all the same; madvise_remove refuses VM_LOCKED before it looks for a file
        Assumptions.assumeTrue(Credentials.ofCurrentProcess().capable(Capability.IPC_LOCK),
                "without CAP_IPC_LOCK, RLIMIT_MEMLOCK decides MAP_LOCKED");
        for (int type : new int[] {MapFlags.PRIVATE, MapFlags.SHARED}) {
            MemorySegment m = kernel.mmap(MemorySegment.NULL, page, Prot.READ_WRITE,
                    type | MapFlags.ANONYMOUS | MapFlags.LOCKED, -1, 0);
            try {
                for (int advice : new int[] {Advice.DONTNEED, Advice.FREE, Advice.COLD, Advice.PAGEOUT,
                    Advice.REMOVE}) {
                    assertErrno(Errno.EINVAL, () -> kernel.madvise(m, page, advice));
                }
                m.set(JAVA_LONG, 0, 42L);
                kernel.madvise(m, page, Advice.DONTNEED_LOCKED);
                assertThat(m.get(JAVA_LONG, 0)).as("type %d", type).isEqualTo(type == MapFlags.PRIVATE ? 0L : 42L);
            } finally {
                kernel.munmap(m, page);
            }
        }
    }

    @Test
    void theKernelReadsFromAWriteOnlyMappingButWritesOnlyIntoAWritableOne() throws Exception {
        // access_error (arch/x86/mm/fault.c): a read fault needs only vma_is_accessible, and x86 pages that may be
        // written may be read; a write fault needs VM_WRITE
        int fd = kernel.open(Files.write(dir.resolve("f"), new byte[(int) page]).toString(),
                OpenFlags.RDWR | OpenFlags.CLOEXEC, 0);
        MemorySegment m = kernel.mmap(MemorySegment.NULL, page, Prot.WRITE, ANON_PRIVATE, -1, 0);
        try {
            assertThat(kernel.pwrite(fd, m, 0)).isEqualTo(page);
            assertThat(kernel.pread(fd, m, 0)).isEqualTo(page);
            kernel.mprotect(m, page, Prot.READ | Prot.EXEC);
            assertThat(kernel.pwrite(fd, m, 0)).isEqualTo(page);
            assertErrno(Errno.EFAULT, () -> kernel.pread(fd, m, 0));
        } finally {
            kernel.munmap(m, page);
            kernel.close(fd);
        }
    }

    @Test
    void aCopyStopsAtAHoleTheProcessMadeInAMapping() throws Exception {
        // the unmapped middle page has no area: copy_to_user and copy_from_user fault there (EFAULT, or a short count)
        int fd = kernel.open(Files.write(dir.resolve("g"), new byte[(int) (3 * page)]).toString(),
                OpenFlags.RDWR | OpenFlags.CLOEXEC, 0);
        MemorySegment m = kernel.mmap(MemorySegment.NULL, 3 * page, Prot.READ_WRITE, ANON_PRIVATE, -1, 0);
        MemorySegment hole = m.asSlice(page, page);
        try {
            kernel.munmap(hole, page);
            Assumptions.assumeFalse(binding.isReal() && mapped(hole.address()),
                    "another thread of this JVM mapped memory into the hole");
            assertThat(kernel.pwrite(fd, m.asSlice(0, 2 * page), 0)).isEqualTo(page);
            assertThat(kernel.pread(fd, m.asSlice(0, 2 * page), 0)).isEqualTo(page);
            assertErrno(Errno.EFAULT, () -> kernel.pread(fd, hole, 0));
            assertErrno(Errno.EFAULT, () -> kernel.pwrite(fd, hole, 0));
        } finally {
            kernel.munmap(m, page); // page by page: the hole may hold another thread's mapping now
            kernel.munmap(m.asSlice(2 * page), page);
            kernel.close(fd);
        }
    }

    /** Whether /proc/self/maps has a mapping at {@code address}. */
    private static boolean mapped(long address) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            String[] range = line.substring(0, line.indexOf(' ')).split("-");
            if (Long.parseUnsignedLong(range[0], 16) <= address && address < Long.parseUnsignedLong(range[1], 16)) {
                return true;
            }
        }
        return false;
    }
}
