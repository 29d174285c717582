package dev.kdirect.contract;

import static dev.kdirect.contract.ContractKernels.assertErrno;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Binding;
import dev.kdirect.Errno;
import dev.kdirect.FallocateFlags;
import dev.kdirect.FileStatus;
import dev.kdirect.Kernel;
import dev.kdirect.OpenFlags;
import dev.kdirect.testing.RequiresRealKernel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/** The file and process syscalls on every binding, with the kernel's order of checks. */
@ParameterizedClass(name = "{0}")
@EnumSource(Binding.class)
@RequiresRealKernel
class FileAndProcessContractTest {
    private static final int BAD_FD = 99999;

    @Parameter
    Binding binding;

    @TempDir
    Path dir;

    Kernel kernel;
    Arena arena;

    @BeforeEach
    void setUp() {
        kernel = ContractKernels.kernel(binding);
        arena = Arena.ofConfined();
    }

    @AfterEach
    void tearDown() {
        arena.close();
    }

    @Test
    void openReportsMissingExistingAndWrongKindsOfFiles() throws Exception {
        Path file = Files.writeString(dir.resolve("f"), "x");
        assertErrno(Errno.ENOENT, () -> kernel.open(dir.resolve("missing").toString(), OpenFlags.RDONLY, 0));
        assertErrno(Errno.ENOENT, () -> kernel.open(dir.resolve("no/such/dir").toString(), OpenFlags.CREAT | OpenFlags.RDWR, 0600));
        assertErrno(Errno.EEXIST, () -> kernel.open(file.toString(), OpenFlags.CREAT | OpenFlags.EXCL | OpenFlags.RDWR, 0600));
        assertErrno(Errno.ENOTDIR, () -> kernel.open(file.toString(), OpenFlags.DIRECTORY, 0));
        assertErrno(Errno.EISDIR, () -> kernel.open(dir.toString(), OpenFlags.RDWR, 0));
        assertErrno(Errno.ENOENT, () -> kernel.open("", OpenFlags.RDONLY, 0));
    }

    @Test
    void aPathEndsAtItsFirstNulAndIsNoLongerThanPathMaxOrItsNamesThanNameMax() throws Exception {
        // getname_flags (fs/namei.c): the path is a C string, read up to its NUL and at most PATH_MAX (4096) bytes
        // with it; a name longer than NAME_MAX (255) is ENAMETOOLONG where the walk reaches it (ext4_lookup,
        // simple_lookup), a missing directory before it ENOENT
        Path file = Files.writeString(dir.resolve("f"), "x");
        kernel.close(kernel.open(file + "\0ignored", OpenFlags.RDONLY, 0));
        String longName = "n".repeat(256);
        assertErrno(Errno.ENAMETOOLONG, () -> kernel.open(dir.resolve(longName).toString(), OpenFlags.RDONLY, 0));
        assertErrno(Errno.ENAMETOOLONG, () -> kernel.open(dir.resolve(longName).toString(),
                OpenFlags.CREAT | OpenFlags.WRONLY, 0600));
        assertErrno(Errno.ENOENT, () -> kernel.open(dir.resolve("missing").resolve(longName).toString(),
                OpenFlags.RDONLY, 0));
        kernel.close(kernel.open(dir.resolve("n".repeat(255)).toString(), OpenFlags.CREAT | OpenFlags.WRONLY, 0600));
        String deep = dir + "/" + "./".repeat(2100) + "f";
        assertErrno(Errno.ENAMETOOLONG, () -> kernel.open(deep, OpenFlags.RDONLY, 0));
        assertThat(Files.exists(dir.resolve(longName))).isFalse();
    }

    @Test
    void aReadOrWriteWhosePositionPlusCountWrapsIsEinval() throws Exception {
        // rw_verify_area (fs/read_write.c): pos + count past LLONG_MAX is EINVAL, checked before the directory's
        // EISDIR; a read ending exactly at LLONG_MAX is a read past the end of the file
        Path file = Files.writeString(dir.resolve("w"), "abcd");
        int fd = kernel.open(file.toString(), OpenFlags.RDWR, 0);
        int directory = kernel.open(dir.toString(), OpenFlags.RDONLY | OpenFlags.DIRECTORY, 0);
        try {
            MemorySegment buffer = arena.allocate(16);
            assertErrno(Errno.EINVAL, () -> kernel.pread(fd, buffer, Long.MAX_VALUE - 8));
            assertErrno(Errno.EINVAL, () -> kernel.pwrite(fd, buffer, Long.MAX_VALUE - 8));
            assertErrno(Errno.EINVAL, () -> kernel.pread(directory, buffer, Long.MAX_VALUE - 8));
            assertErrno(Errno.EISDIR, () -> kernel.pread(directory, buffer, 0));
            assertThat(kernel.pread(fd, buffer, Long.MAX_VALUE - 16)).isZero();
        } finally {
            kernel.close(fd);
            kernel.close(directory);
        }
        assertThat(Files.readString(file)).isEqualTo("abcd");
    }

    @Test
    void nofollowRefusesASymlinkAndExclRefusesEvenADanglingOne() throws Exception {
        Path target = Files.writeString(dir.resolve("target"), "keep");
        Path link = Files.createSymbolicLink(dir.resolve("link"), target);
        Path dangling = Files.createSymbolicLink(dir.resolve("dangling"), dir.resolve("nowhere"));
        assertErrno(Errno.ELOOP, () -> kernel.open(link.toString(), OpenFlags.RDWR | OpenFlags.NOFOLLOW, 0));
        assertErrno(Errno.ELOOP, () -> kernel.open(link.toString(), OpenFlags.RDWR | OpenFlags.CREAT | OpenFlags.NOFOLLOW,
                0600));
        assertErrno(Errno.EEXIST, () -> kernel.open(dangling.toString(),
                OpenFlags.RDWR | OpenFlags.CREAT | OpenFlags.EXCL | OpenFlags.NOFOLLOW, 0600));
        Path dirLink = Files.createSymbolicLink(dir.resolve("dir-link"), dir);
        assertErrno(Errno.ENOTDIR, () -> kernel.open(dirLink.toString(),
                OpenFlags.RDONLY | OpenFlags.DIRECTORY | OpenFlags.NOFOLLOW, 0)); // checked before ELOOP
        assertThat(Files.readString(target)).isEqualTo("keep");
        assertThat(Files.exists(dir.resolve("nowhere"))).isFalse();
    }

    @Test
    void fstatTellsTypeOwnerPermissionsAndSize() throws Exception {
        Path file = Files.writeString(dir.resolve("s"), "12345");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r-----"));
        Path link = Files.createSymbolicLink(dir.resolve("s-link"), file);
        int fd = kernel.open(link.toString(), OpenFlags.RDONLY | OpenFlags.CLOEXEC, 0);
        int directory = kernel.open(dir.toString(), OpenFlags.RDONLY | OpenFlags.DIRECTORY | OpenFlags.CLOEXEC, 0);
        try {
            FileStatus status = kernel.fstat(fd); // the file, not the link it was opened through
            assertThat(status.isRegularFile()).isTrue();
            assertThat(status.permissions()).isEqualTo(0640);
            assertThat(status.uid()).isEqualTo(Files.getAttribute(file, "unix:uid")).isEqualTo(kernel.geteuid());
            assertThat(status.size()).isEqualTo(5);
            assertThat(kernel.fstat(directory).isDirectory()).isTrue();
        } finally {
            kernel.close(fd);
            kernel.close(directory);
        }
        assertErrno(Errno.EBADF, () -> kernel.fstat(fd));
    }

    @Test
    void closeOfAClosedDescriptorIsEbadf() throws Exception {
        int fd = kernel.open(dir.resolve("c").toString(), OpenFlags.CREAT | OpenFlags.RDWR | OpenFlags.CLOEXEC, 0600);
        kernel.close(fd);
        assertErrno(Errno.EBADF, () -> kernel.close(fd));
    }

    @Test
    void pwriteThenPreadRoundTripsAndReadsZeroAtEndOfFile() throws Exception {
        int fd = kernel.open(dir.resolve("rw").toString(), OpenFlags.CREAT | OpenFlags.RDWR | OpenFlags.CLOEXEC, 0600);
        try {
            MemorySegment out = arena.allocate(16);
            out.set(JAVA_LONG, 0, 7L);
            out.set(JAVA_LONG, 8, 8L);
            assertThat(kernel.pwrite(fd, out, 100)).isEqualTo(16);
            MemorySegment in = arena.allocate(16);
            assertThat(kernel.pread(fd, in, 100)).isEqualTo(16);
            assertThat(in.get(JAVA_LONG, 8)).isEqualTo(8L);
            assertThat(kernel.pread(fd, in, 116)).isZero();
            assertThat(Files.size(dir.resolve("rw"))).isEqualTo(116);
        } finally {
            kernel.close(fd);
        }
    }

    @Test
    void positionalIoChecksOffsetThenDescriptorThenAccessMode() throws Exception {
        Path file = Files.writeString(dir.resolve("p"), "data");
        MemorySegment buf = arena.allocate(4);
        assertErrno(Errno.EINVAL, () -> kernel.pread(BAD_FD, buf, -1));
        assertErrno(Errno.EBADF, () -> kernel.pread(BAD_FD, buf, 0));
        int readOnly = kernel.open(file.toString(), OpenFlags.RDONLY | OpenFlags.CLOEXEC, 0);
        int writeOnly = kernel.open(file.toString(), OpenFlags.WRONLY | OpenFlags.CLOEXEC, 0);
        int directory = kernel.open(dir.toString(), OpenFlags.RDONLY | OpenFlags.DIRECTORY | OpenFlags.CLOEXEC, 0);
        try {
            assertErrno(Errno.EBADF, () -> kernel.pwrite(readOnly, buf, 0));
            assertErrno(Errno.EBADF, () -> kernel.pread(writeOnly, buf, 0));
            assertErrno(Errno.EISDIR, () -> kernel.pread(directory, buf, 0));
        } finally {
            kernel.close(readOnly);
            kernel.close(writeOnly);
            kernel.close(directory);
        }
    }

    @Test
    void ftruncateChecksLengthThenDescriptorThenWriteAccess() throws Exception {
        Path file = Files.writeString(dir.resolve("t"), "0123456789");
        assertErrno(Errno.EINVAL, () -> kernel.ftruncate(BAD_FD, -1));
        assertErrno(Errno.EBADF, () -> kernel.ftruncate(BAD_FD, 0));
        int readOnly = kernel.open(file.toString(), OpenFlags.RDONLY | OpenFlags.CLOEXEC, 0);
        int readWrite = kernel.open(file.toString(), OpenFlags.RDWR | OpenFlags.CLOEXEC, 0);
        try {
            assertErrno(Errno.EINVAL, () -> kernel.ftruncate(readOnly, 4));
            kernel.ftruncate(readWrite, 4);
            assertThat(Files.readString(file)).isEqualTo("0123");
            kernel.ftruncate(readWrite, 8192);
            assertThat(Files.size(file)).isEqualTo(8192);
        } finally {
            kernel.close(readOnly);
            kernel.close(readWrite);
        }
    }

    @Test
    void fallocateChecksDescriptorThenRangeThenModeThenWriteAccess() throws Exception {
        Path file = Files.writeString(dir.resolve("a"), "abcdefgh");
        assertErrno(Errno.EBADF, () -> kernel.fallocate(BAD_FD, 0, 0, 0));
        int readOnly = kernel.open(file.toString(), OpenFlags.RDONLY | OpenFlags.CLOEXEC, 0);
        int readWrite = kernel.open(file.toString(), OpenFlags.RDWR | OpenFlags.CLOEXEC, 0);
        try {
            assertErrno(Errno.EINVAL, () -> kernel.fallocate(readWrite, 0, 0, 0));
            assertErrno(Errno.EINVAL, () -> kernel.fallocate(readWrite, 0, -1, 10));
            assertErrno(Errno.EOPNOTSUPP, () -> kernel.fallocate(readWrite, FallocateFlags.PUNCH_HOLE, 0, 4));
            assertErrno(Errno.EBADF, () -> kernel.fallocate(readOnly, 0, 0, 4096));
            kernel.fallocate(readWrite, 0, 0, 4096);
            assertThat(Files.size(file)).isEqualTo(4096);
            kernel.fallocate(readWrite, FallocateFlags.KEEP_SIZE, 0, 8192);
            assertThat(Files.size(file)).isEqualTo(4096);
            kernel.fallocate(readWrite, FallocateFlags.PUNCH_HOLE | FallocateFlags.KEEP_SIZE, 0, 4);
            assertThat(Files.readString(file).substring(0, 8)).isEqualTo("\0\0\0\0efgh");
        } finally {
            kernel.close(readOnly);
            kernel.close(readWrite);
        }
    }

    @Test
    void identityMatchesTheRealProcess() throws Exception {
        Kernel independent = ContractKernels.independentRealKernel(binding);
        assertThat(kernel.geteuid()).isEqualTo(independent.geteuid());
        assertThat(kernel.effectiveCapabilities()).isEqualTo(independent.effectiveCapabilities());
    }
}
