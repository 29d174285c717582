package dev.kdirect.contract;

import static dev.kdirect.contract.ContractKernels.assertErrno;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.kdirect.Advice;
import dev.kdirect.Binding;
import dev.kdirect.Capability;
import dev.kdirect.Errno;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.MapFlags;
import dev.kdirect.OpenFlags;
import dev.kdirect.Prot;
import dev.kdirect.testing.RequiresRealKernel;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * madvise(MADV_HWPOISON / MADV_SOFT_OFFLINE) and what a poisoned page does to the syscalls that meet it, on every
 * binding: the real kernel (the QEMU guest, Debian 6.1; where CONFIG_MEMORY_FAILURE and CAP_SYS_ADMIN exist) and
 * the simulated kernel must agree, errno included. Each test poisons frames of the machine for good: they run in
 * the throwaway guest, and on the host only on the simulated kernel (the host kernel lacks CONFIG_MEMORY_FAILURE).
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Binding.class)
@RequiresRealKernel
class MemoryFailureContractTest {
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
        kernel = ContractKernels.kernel(binding, Feature.MEMORY_FAILURE);
        page = kernel.pageSize();
    }

    private MemorySegment written(int pages) throws KernelException {
        MemorySegment m = kernel.mmap(MemorySegment.NULL, pages * page, Prot.READ_WRITE, ANON_PRIVATE, -1, 0);
        for (int i = 0; i < pages; i++) {
            m.set(JAVA_LONG, i * page, 0x1111L * (i + 1));
        }
        return m;
    }

    private void advise(MemorySegment m, long offset, long length, int advice) throws KernelException {
        kernel.madvise(m.asSlice(offset), length, advice);
    }

    @Test
    void hwpoisonOfAWrittenPagePoisonsThatPageOnly() throws Exception {
        MemorySegment m = written(3);
        advise(m, page, page, Advice.HWPOISON);
        assertErrno(Errno.EHWPOISON, () -> advise(m, page, page, Advice.POPULATE_READ));
        assertErrno(Errno.EHWPOISON, () -> advise(m, page, page, Advice.POPULATE_WRITE));
        assertErrno(Errno.EHWPOISON, () -> advise(m, 0, 3 * page, Advice.POPULATE_READ));
        advise(m, 0, page, Advice.POPULATE_READ);
        advise(m, 2 * page, page, Advice.POPULATE_READ);
        assertThat(m.get(JAVA_LONG, 0)).isEqualTo(0x1111L);
        assertThat(m.get(JAVA_LONG, 2 * page)).isEqualTo(0x3333L);
        kernel.munmap(m, 3 * page);
    }

    @Test
    void aPoisonedPageCannotBeInjectedAgain() throws Exception {
        MemorySegment m = written(1);
        advise(m, 0, page, Advice.HWPOISON);
        assertErrno(Errno.EFAULT, () -> advise(m, 0, page, Advice.HWPOISON)); // the page lookup meets the hwpoison entry
        assertErrno(Errno.EFAULT, () -> advise(m, 0, page, Advice.SOFT_OFFLINE));
        kernel.munmap(m, page);
    }

    @Test
    void aPageNeverWrittenIsTheSharedZeroPage() throws Exception {
        // The first injection into the zero page in a boot is EBUSY and marks the zero page poisoned (the kernel
        // logs "recovery action for reserved kernel page: Ignored"); every later one is EHWPOISON. The page keeps
        // reading as zeros and is not poisoned for the process.
        MemorySegment m = kernel.mmap(MemorySegment.NULL, page, Prot.READ_WRITE, ANON_PRIVATE, -1, 0);
        KernelException first = catchThrowableOfType(KernelException.class,
                () -> advise(m, 0, page, Advice.HWPOISON));
        assertThat(first).isNotNull();
        assertThat(first.error()).isIn(Errno.EBUSY, Errno.EHWPOISON);
        if (!binding.isReal()) {
            assertThat(first.error()).as("a fresh simulated machine").isEqualTo(Errno.EBUSY);
        }
        assertErrno(Errno.EHWPOISON, () -> advise(m, 0, page, Advice.HWPOISON));
        advise(m, 0, page, Advice.SOFT_OFFLINE); // "page already poisoned": 0
        advise(m, 0, page, Advice.POPULATE_READ);
        assertThat(m.get(JAVA_LONG, 0)).isZero();
        kernel.munmap(m, page);
    }

    @Test
    void softOfflineOfTheZeroPageIsEioUntilItIsPoisoned() throws Exception {
        // get_any_page (mm/memory-failure.c): the zero page cannot be handled, -EIO, nothing marked; once an injection
        // poisoned it (earlier in this boot, on the real machine) soft_offline_page says "already poisoned": 0
        MemorySegment m = kernel.mmap(MemorySegment.NULL, page, Prot.READ, ANON_PRIVATE, -1, 0);
        KernelException clean = catchThrowableOfType(KernelException.class,
                () -> advise(m, 0, page, Advice.SOFT_OFFLINE));
        if (!binding.isReal()) {
            assertThat(clean).as("a fresh simulated machine").isNotNull();
        }
        if (clean != null) {
            assertThat(clean.error()).isEqualTo(Errno.EIO);
        }
        kernel.munmap(m, page);
    }

    @Test
    void writeFaultingFirstGivesThePageItsOwnFrame() throws Exception {
        MemorySegment m = kernel.mmap(MemorySegment.NULL, page, Prot.READ_WRITE, ANON_PRIVATE, -1, 0);
        advise(m, 0, page, Advice.POPULATE_WRITE);
        advise(m, 0, page, Advice.HWPOISON);
        assertErrno(Errno.EHWPOISON, () -> advise(m, 0, page, Advice.POPULATE_READ));
        kernel.munmap(m, page);
    }

    @Test
    void mapPopulateOfAReadOnlyPrivateMappingMapsTheZeroPage() throws Exception {
        // populate_vma_page_range (mm/gup.c): a write fault only for a private writable mapping (a fuzzer's find)
        MemorySegment m = kernel.mmap(MemorySegment.NULL, page, Prot.READ, ANON_PRIVATE | MapFlags.POPULATE, -1, 0);
        KernelException first = catchThrowableOfType(KernelException.class,
                () -> advise(m, 0, page, Advice.HWPOISON));
        assertThat(first).isNotNull();
        assertThat(first.error()).isIn(Errno.EBUSY, Errno.EHWPOISON);
        kernel.munmap(m, page);
        MemorySegment writable = kernel.mmap(MemorySegment.NULL, page, Prot.READ_WRITE,
                ANON_PRIVATE | MapFlags.POPULATE, -1, 0);
        advise(writable, 0, page, Advice.HWPOISON); // its own frame
        assertErrno(Errno.EHWPOISON, () -> advise(writable, 0, page, Advice.POPULATE_READ));
        kernel.munmap(writable, page);
    }

    @Test
    void preadOfZerosIntoAPageGivesItItsOwnFrame() throws Exception {
        // copy_to_user write-faults the page even when the bytes are zeros (a fuzzer's find)
        Path file = Files.createTempFile(dir, "zeros", ".bin");
        Files.write(file, new byte[64]);
        int fd = kernel.open(file.toString(), OpenFlags.RDONLY | OpenFlags.CLOEXEC, 0);
        MemorySegment m = kernel.mmap(MemorySegment.NULL, page, Prot.READ_WRITE, ANON_PRIVATE, -1, 0);
        try {
            assertThat(kernel.pread(fd, m.asSlice(page - 8, 8), 0)).isEqualTo(8);
        } finally {
            kernel.close(fd);
        }
        advise(m, 0, page, Advice.HWPOISON);
        assertErrno(Errno.EHWPOISON, () -> advise(m, 0, page, Advice.POPULATE_READ));
        kernel.munmap(m, page);
    }

    @Test
    void anUntouchedSharedAnonymousPageCanBePoisonedAndStaysPoisonedAfterDontneed() throws Exception {
        MemorySegment m = kernel.mmap(MemorySegment.NULL, page, Prot.READ_WRITE, ANON_SHARED, -1, 0);
        advise(m, 0, page, Advice.HWPOISON); // the lookup allocates a shmem page
        assertErrno(Errno.EHWPOISON, () -> advise(m, 0, page, Advice.POPULATE_READ));
        advise(m, 0, page, Advice.DONTNEED);
        assertErrno(Errno.EHWPOISON, () -> advise(m, 0, page, Advice.POPULATE_READ));
        kernel.munmap(m, page);
    }

    @Test
    void dontneedGivesAPoisonedPrivatePageBackAsAFreshPage() throws Exception {
        MemorySegment m = written(1);
        advise(m, 0, page, Advice.HWPOISON);
        advise(m, 0, page, Advice.DONTNEED);
        advise(m, 0, page, Advice.POPULATE_READ);
        assertThat(m.get(JAVA_LONG, 0)).isZero();
        m.set(JAVA_LONG, 0, 5L);
        assertThat(m.get(JAVA_LONG, 0)).isEqualTo(5L);
        kernel.munmap(m, page);
    }

    @Test
    void badRanges() throws Exception {
        MemorySegment m = written(3);
        kernel.munmap(m.asSlice(page), page);
        assertErrno(Errno.EINVAL, () -> kernel.madvise(MemorySegment.ofAddress(m.address() + 8), page, Advice.HWPOISON));
        advise(m, 0, 0, Advice.HWPOISON); // length 0: nothing to do
        advise(m, 0, page, Advice.POPULATE_READ);
        assertErrno(Errno.EFAULT, () -> advise(m, page, page, Advice.HWPOISON)); // a hole: EFAULT, not ENOMEM
        assertErrno(Errno.EFAULT, () -> advise(m, page, page, Advice.SOFT_OFFLINE));
        assertErrno(Errno.ENOMEM, () -> advise(m, 0, 3 * page, Advice.POPULATE_WRITE));
        assertErrno(Errno.EFAULT, () -> advise(m, 0, 2 * page, Advice.HWPOISON)); // page by page: the first is done
        assertErrno(Errno.EHWPOISON, () -> advise(m, 0, page, Advice.POPULATE_READ));
        advise(m, 2 * page, 1, Advice.HWPOISON); // one byte poisons the whole page
        assertErrno(Errno.EHWPOISON, () -> advise(m, 2 * page, page, Advice.POPULATE_READ));
        kernel.munmap(m, 3 * page);
    }

    @Test
    void aPageThatCannotBeReadCannotBeInjected() throws Exception {
        MemorySegment m = written(1);
        kernel.mprotect(m, page, Prot.NONE);
        assertErrno(Errno.EFAULT, () -> advise(m, 0, page, Advice.HWPOISON));
        assertErrno(Errno.EINVAL, () -> advise(m, 0, page, Advice.POPULATE_READ));
        kernel.mprotect(m, page, Prot.READ);
        advise(m, 0, page, Advice.HWPOISON); // read-only is enough: the lookup reads
        assertErrno(Errno.EHWPOISON, () -> advise(m, 0, page, Advice.POPULATE_READ));
        kernel.munmap(m, page);
    }

    @Test
    void syscallsCopyingFromOrToAPoisonedPageFailWithEfaultOrStopBeforeIt() throws Exception {
        MemorySegment m = written(3);
        advise(m, page, page, Advice.HWPOISON);
        Path file = Files.createTempFile(dir, "copy", ".bin");
        int fd = kernel.open(file.toString(), OpenFlags.RDWR | OpenFlags.CLOEXEC, 0);
        try {
            assertErrno(Errno.EFAULT, () -> kernel.pwrite(fd, m.asSlice(page, page), 0));
            assertThat(kernel.pwrite(fd, m.asSlice(0, 2 * page), 0)).isEqualTo(page);
            assertErrno(Errno.EFAULT, () -> kernel.pwrite(fd, m.asSlice(page, 2 * page), 0));
            assertErrno(Errno.EFAULT, () -> kernel.pread(fd, m.asSlice(page, 8), 0));
            assertThat(kernel.pread(fd, m.asSlice(page - 8, 16), 0)).isEqualTo(8);
        } finally {
            kernel.close(fd);
        }
        kernel.munmap(m, 3 * page);
    }

    @Test
    void softOfflineKeepsTheData() throws Exception {
        MemorySegment m = written(2);
        advise(m, 0, 2 * page, Advice.SOFT_OFFLINE);
        advise(m, 0, 2 * page, Advice.SOFT_OFFLINE); // again: migrated once more
        advise(m, 0, 2 * page, Advice.POPULATE_READ);
        assertThat(m.get(JAVA_LONG, 0)).isEqualTo(0x1111L);
        assertThat(m.get(JAVA_LONG, page)).isEqualTo(0x2222L);
        advise(m, 0, page, Advice.HWPOISON);
        assertErrno(Errno.EHWPOISON, () -> advise(m, 0, page, Advice.POPULATE_READ));
        kernel.munmap(m, 2 * page);
    }

    @Test
    void anAccessToAPoisonedPageFaultsOnTheRealKernelAndTheJvmLives() throws Exception {
        MemorySegment m = written(2);
        advise(m, page, page, Advice.HWPOISON);
        if (binding.isReal()) {
            // SIGBUS BUS_MCEERR_AR, which the JDK raises as InternalError
            assertThatThrownBy(() -> m.get(JAVA_LONG, page)).isInstanceOf(InternalError.class)
                    .hasMessageContaining("unsafe memory access");
            assertThatThrownBy(() -> m.set(JAVA_LONG, page + 8, 1L)).isInstanceOf(InternalError.class);
        } else {
            m.get(JAVA_LONG, page); // the model cannot make a plain load fault: pmem's MemoryFailure.guard asks it
        }
        assertThat(m.get(JAVA_LONG, 0)).isEqualTo(0x1111L);
        kernel.munmap(m, 2 * page);
    }

    /**
     * madvise checks the advice, the alignment and the length (mm/madvise.c, do_madvise) before
     * madvise_inject_error checks CAP_SYS_ADMIN. The tests run as root, so a real binding runs the steps in a child
     * JVM started without the capability; the simulated kernel runs them as a process with the same credentials.
     */
    @Test
    void withoutCapSysAdminInjectionIsEpermAfterTheRangeChecks() throws Exception {
        Map<String, String> outcome;
        if (binding.isReal()) {
            String output = ChildJvm.runWithout(Capability.SYS_ADMIN, InjectionPermissionProgram.class, List.of(),
                    binding.id());
            assertThat(output).as("the child's credentials").contains("CAP_SYS_ADMIN false");
            outcome = Outcomes.parse(output);
        } else {
            outcome = InjectionPermissionProgram.outcomes(ContractKernels.simulatedWithout(Capability.SYS_ADMIN))
                    .asMap();
        }
        assertThat(outcome).as("on %s", binding)
                .containsEntry("hwpoison", "EPERM")
                .containsEntry("soft-offline", "EPERM")
                .containsEntry("hwpoison-unaligned", "EINVAL")
                .containsEntry("hwpoison-empty", "ok")
                .containsEntry("after", "1");
        assertThat(outcome.get("hwpoison.hint")).contains("CAP_SYS_ADMIN");
    }
}
