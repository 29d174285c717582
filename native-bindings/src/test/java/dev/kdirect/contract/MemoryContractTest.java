package dev.kdirect.contract;

import static dev.kdirect.contract.ContractKernels.assertErrno;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Advice;
import dev.kdirect.Binding;
import dev.kdirect.Errno;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.MapFlags;
import dev.kdirect.OpenFlags;
import dev.kdirect.Prot;
import dev.kdirect.testing.RequiresRealKernel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The memory syscalls (mmap, munmap, mprotect, madvise), bad input included, on every binding: the real
 * kernel through FFM and JNA and the simulated kernel must give the same results and the same errno.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Binding.class)
@RequiresRealKernel
class MemoryContractTest {
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

    /** Three pages with the middle one unmapped: a hole nobody else can map into during the test. */
    private MemorySegment threePagesWithHole() throws KernelException {
        MemorySegment m = kernel.mmap(MemorySegment.NULL, 3 * page, Prot.READ_WRITE, ANON_PRIVATE, -1, 0);
        kernel.munmap(m.asSlice(page), page);
        return m;
    }

    @Test
    void anonymousMappingIsPageAlignedZeroFilledAndWritable() throws Exception {
        MemorySegment m = kernel.mmap(MemorySegment.NULL, 2 * page, Prot.READ_WRITE, ANON_PRIVATE, -1, 0);
        assertThat(m.address() % page).isZero();
        assertThat(m.byteSize()).isEqualTo(2 * page);
        assertThat(m.get(JAVA_LONG, 0)).isZero();
        assertThat(m.get(JAVA_LONG, 2 * page - 8)).isZero();
        m.set(JAVA_LONG, page, 0x1122334455667788L);
        assertThat(m.get(JAVA_LONG, page)).isEqualTo(0x1122334455667788L);
        kernel.munmap(m, 2 * page);
    }

    @Test
    void thePageSizeIsTheRealKernels() {
        assertThat(page).isEqualTo(ContractKernels.independentRealKernel(binding).pageSize());
    }

    @Test
    void mmapOfLengthZeroIsEinval() {
        assertErrno(Errno.EINVAL, () -> kernel.mmap(MemorySegment.NULL, 0, Prot.READ, ANON_PRIVATE, -1, 0));
    }

    @Test
    void mmapWithoutSharedOrPrivateIsEinval() {
        assertErrno(Errno.EINVAL, () -> kernel.mmap(MemorySegment.NULL, page, Prot.READ, MapFlags.ANONYMOUS, -1, 0));
    }

    @Test
    void anonymousSharedValidateIsEinval() {
        assertErrno(Errno.EINVAL, () -> kernel.mmap(MemorySegment.NULL, page, Prot.READ,
                MapFlags.SHARED_VALIDATE | MapFlags.ANONYMOUS, -1, 0));
    }

    @Test
    void unalignedOffsetIsCheckedBeforeTheDescriptor() {
        assertErrno(Errno.EINVAL, () -> kernel.mmap(MemorySegment.NULL, page, Prot.READ, MapFlags.SHARED, -1, 1));
    }

    @Test
    void fileMappingWithABadDescriptorIsEbadf() {
        assertErrno(Errno.EBADF, () -> kernel.mmap(MemorySegment.NULL, page, Prot.READ, MapFlags.SHARED, 99999, 0));
    }

    @Test
    void sharedWritableMappingOfAReadOnlyFileIsEacces() throws Exception {
        int fd = openFile(OpenFlags.RDONLY, page);
        try {
            assertErrno(Errno.EACCES, () -> kernel.mmap(MemorySegment.NULL, page, Prot.READ_WRITE, MapFlags.SHARED, fd, 0));
        } finally {
            kernel.close(fd);
        }
    }

    @Test
    void aPrivateWritableMappingOfAReadOnlyFileIsCopyOnWrite() throws Exception {
        // do_mmap (mm/mmap.c): MAP_PRIVATE needs only FMODE_READ and always gets VM_MAYWRITE, so PROT_WRITE is allowed
        // (now or by a later mprotect); stores copy the page and never reach the file; MADV_DONTNEED drops the copy.
        Path path = Files.createTempFile(dir, "private", ".bin");
        Files.write(path, new byte[] {1, 2, 3});
        int fd = kernel.open(path.toString(), OpenFlags.RDONLY | OpenFlags.CLOEXEC, 0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = kernel.mmap(MemorySegment.NULL, page, Prot.READ_WRITE, MapFlags.PRIVATE, fd, 0);
            assertThat(m.asSlice(0, 4).toArray(JAVA_BYTE)).containsExactly(1, 2, 3, 0); // the rest of the page is 0
            m.set(JAVA_BYTE, 0, (byte) 9);
            m.set(JAVA_BYTE, 100, (byte) 9);
            MemorySegment buffer = arena.allocate(4);
            assertThat(kernel.pread(fd, buffer, 0)).isEqualTo(3);
            assertThat(buffer.asSlice(0, 3).toArray(JAVA_BYTE)).containsExactly(1, 2, 3);
            assertThat(Files.size(path)).isEqualTo(3);
            kernel.mprotect(m, page, Prot.READ);
            kernel.mprotect(m, page, Prot.READ_WRITE);
            assertThat(m.get(JAVA_BYTE, 0)).isEqualTo((byte) 9);
            kernel.madvise(m, page, Advice.DONTNEED);
            assertThat(m.asSlice(0, 4).toArray(JAVA_BYTE)).containsExactly(1, 2, 3, 0);
            assertThat(m.get(JAVA_BYTE, 100)).isZero();
            kernel.munmap(m, page);
            MemorySegment readOnly = kernel.mmap(MemorySegment.NULL, page, Prot.READ, MapFlags.PRIVATE, fd, 0);
            kernel.mprotect(readOnly, page, Prot.READ_WRITE);
            readOnly.set(JAVA_BYTE, 1, (byte) 7);
            assertThat(kernel.pread(fd, buffer, 0)).isEqualTo(3);
            assertThat(buffer.get(JAVA_BYTE, 1)).isEqualTo((byte) 2);
            // a change to the file through another descriptor: the page this process wrote keeps its copy (the
            // unwritten pages show the change: FileMappingContractTest)
            int writer = kernel.open(path.toString(), OpenFlags.RDWR | OpenFlags.CLOEXEC, 0);
            try {
                assertThat(kernel.pwrite(writer, buffer, 0)).isEqualTo(4);
            } finally {
                kernel.close(writer);
            }
            assertThat(readOnly.get(JAVA_BYTE, 1)).isEqualTo((byte) 7);
            kernel.munmap(readOnly, page);
        } finally {
            kernel.close(fd);
        }
    }

    @Test
    void anyMappingOfAWriteOnlyFileIsEacces() throws Exception {
        int fd = openFile(OpenFlags.WRONLY, page);
        try {
            assertErrno(Errno.EACCES, () -> kernel.mmap(MemorySegment.NULL, page, Prot.READ, MapFlags.PRIVATE, fd, 0));
        } finally {
            kernel.close(fd);
        }
    }

    @Test
    void mapSyncOnAFileThatIsNotOnDaxIsEopnotsupp() throws Exception {
        // With plain MAP_SHARED the outcome depends on the file system (ext4 refuses, tmpfs ignores the flag):
        // MAP_SHARED_VALIDATE is the portable way, and the only one kdirect uses.
        int fd = openFile(OpenFlags.RDWR, page);
        try {
            assertErrno(Errno.EOPNOTSUPP, () -> kernel.mmap(MemorySegment.NULL, page, Prot.READ_WRITE,
                    MapFlags.SHARED_VALIDATE | MapFlags.SYNC, fd, 0));
        } finally {
            kernel.close(fd);
        }
    }

    @Test
    void sharedFileMappingWritesReachTheFile() throws Exception {
        int fd = openFile(OpenFlags.RDWR, page);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = kernel.mmap(MemorySegment.NULL, page, Prot.READ_WRITE, MapFlags.SHARED, fd, 0);
            m.set(JAVA_LONG, 64, 42L);
            MemorySegment buffer = arena.allocate(8);
            assertThat(kernel.pread(fd, buffer, 64)).isEqualTo(8);
            assertThat(buffer.get(JAVA_LONG, 0)).isEqualTo(42L);
            kernel.munmap(m, page);
        } finally {
            kernel.close(fd);
        }
    }

    @Test
    void munmapOfLengthZeroOrUnalignedIsEinvalAndOfAHoleSucceeds() throws Exception {
        MemorySegment m = threePagesWithHole();
        assertErrno(Errno.EINVAL, () -> kernel.munmap(m, 0));
        assertErrno(Errno.EINVAL, () -> kernel.munmap(m.asSlice(1), page));
        kernel.munmap(m.asSlice(page), page);
        kernel.munmap(m, 3 * page);
    }

    @Test
    void mprotectChecksAlignmentThenLengthThenProtBits() throws Exception {
        MemorySegment m = threePagesWithHole();
        assertErrno(Errno.EINVAL, () -> kernel.mprotect(m.asSlice(1), page, Prot.READ));
        kernel.mprotect(m, 0, 0x100); // length 0 returns before the prot bits are validated
        assertErrno(Errno.EINVAL, () -> kernel.mprotect(m, page, 0x100));
        kernel.munmap(m, 3 * page);
    }

    @Test
    void mprotectOverAHoleIsEnomem() throws Exception {
        MemorySegment m = threePagesWithHole();
        assertErrno(Errno.ENOMEM, () -> kernel.mprotect(m.asSlice(page), page, Prot.READ));
        assertErrno(Errno.ENOMEM, () -> kernel.mprotect(m, 3 * page, Prot.READ));
        kernel.mprotect(m, page, Prot.READ);
        kernel.munmap(m, 3 * page);
    }

    @Test
    void mprotectToWriteASharedMappingOfAReadOnlyFileIsEacces() throws Exception {
        int fd = openFile(OpenFlags.RDONLY, page);
        try {
            MemorySegment m = kernel.mmap(MemorySegment.NULL, page, Prot.READ, MapFlags.SHARED, fd, 0);
            assertErrno(Errno.EACCES, () -> kernel.mprotect(m, page, Prot.READ_WRITE));
            kernel.munmap(m, page);
        } finally {
            kernel.close(fd);
        }
    }

    @Test
    void madviseValidatesTheAdviceBeforeTheLength() throws Exception {
        MemorySegment m = threePagesWithHole();
        assertErrno(Errno.EINVAL, () -> kernel.madvise(m, 0, 999));
        assertErrno(Errno.EINVAL, () -> kernel.madvise(m, page, 5));
        kernel.madvise(m, 0, Advice.WILLNEED);
        assertErrno(Errno.EINVAL, () -> kernel.madvise(m.asSlice(8), page, Advice.NORMAL));
        kernel.munmap(m, 3 * page);
    }

    @Test
    void madviseOverAHoleIsEnomemAfterAdvisingTheMappedPages() throws Exception {
        MemorySegment m = threePagesWithHole();
        m.set(JAVA_BYTE, 0, (byte) 7);
        m.set(JAVA_BYTE, 2 * page, (byte) 9);
        assertErrno(Errno.ENOMEM, () -> kernel.madvise(m, 3 * page, Advice.DONTNEED));
        assertThat(m.get(JAVA_BYTE, 0)).as("page before the hole was dropped").isZero();
        assertThat(m.get(JAVA_BYTE, 2 * page)).as("page after the hole was dropped").isZero();
        kernel.munmap(m, 3 * page);
    }

    @Test
    void dontneedZeroesPrivateButKeepsSharedAnonymousMemory() throws Exception {
        MemorySegment priv = kernel.mmap(MemorySegment.NULL, page, Prot.READ_WRITE, ANON_PRIVATE, -1, 0);
        MemorySegment shared = kernel.mmap(MemorySegment.NULL, page, Prot.READ_WRITE, ANON_SHARED, -1, 0);
        priv.set(JAVA_LONG, 0, 5L);
        shared.set(JAVA_LONG, 0, 6L);
        kernel.madvise(priv, page, Advice.DONTNEED);
        kernel.madvise(shared, page, Advice.DONTNEED);
        assertThat(priv.get(JAVA_LONG, 0)).isZero();
        assertThat(shared.get(JAVA_LONG, 0)).isEqualTo(6L);
        kernel.munmap(priv, page);
        kernel.munmap(shared, page);
    }

    @Test
    void adviceForPrivateAnonymousMemoryOnlyIsEinvalOnSharedMemory() throws Exception {
        MemorySegment shared = kernel.mmap(MemorySegment.NULL, page, Prot.READ_WRITE, ANON_SHARED, -1, 0);
        assertErrno(Errno.EINVAL, () -> kernel.madvise(shared, page, Advice.FREE));
        assertErrno(Errno.EINVAL, () -> kernel.madvise(shared, page, Advice.WIPEONFORK));
        kernel.munmap(shared, page);
    }

    @Test
    void removeNeedsASharedWritableMapping() throws Exception {
        MemorySegment priv = kernel.mmap(MemorySegment.NULL, page, Prot.READ_WRITE, ANON_PRIVATE, -1, 0);
        assertErrno(Errno.EINVAL, () -> kernel.madvise(priv, page, Advice.REMOVE));
        MemorySegment shared = kernel.mmap(MemorySegment.NULL, page, Prot.READ_WRITE, ANON_SHARED, -1, 0);
        shared.set(JAVA_LONG, 0, 3L);
        kernel.madvise(shared, page, Advice.REMOVE);
        assertThat(shared.get(JAVA_LONG, 0)).isZero();
        kernel.munmap(priv, page);
        kernel.munmap(shared, page);
    }

    @Test
    void aFailureNamesTheSyscallItsArgumentsAndAHint() {
        KernelException e = assertErrno(Errno.EINVAL, () -> kernel.mprotect(MemorySegment.ofAddress(page + 1), page,
                Prot.READ));
        assertThat(e.syscall()).isEqualTo("mprotect");
        assertThat(e.getMessage()).startsWith("mprotect(addr=0x" + Long.toHexString(page + 1) + ", length=" + page
                + ", prot=READ) failed: EINVAL (Invalid argument)");
        assertThat(e.hint()).contains("page aligned");
    }

    private int openFile(int access, long size) throws Exception {
        Path file = Files.createTempFile(dir, "contract", ".bin");
        Files.write(file, new byte[(int) size]);
        return kernel.open(file.toString(), access | OpenFlags.CLOEXEC, 0);
    }
}
