package dev.kdirect.contract;

import static dev.kdirect.contract.ContractKernels.assertErrno;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Binding;
import dev.kdirect.Credentials;
import dev.kdirect.Errno;
import dev.kdirect.FallocateFlags;
import dev.kdirect.FileStatus;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.OpenFlags;
import dev.kdirect.SocketConstants;
import dev.kdirect.testing.RequiresRealKernel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * What open, ftruncate and fallocate leave in a file: its mode, its size and its bytes, on every binding (Linux
 * 6.1's fs/namei.c and fs/open.c; the real bindings give the expected values in the same run). Complements
 * {@link FileAndProcessContractTest}, which checks the order of the errors.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Binding.class)
@RequiresRealKernel
class FileDataContractTest {
    private static final int CAP_DAC_OVERRIDE = 1;

    @Parameter
    Binding binding;

    @TempDir
    Path dir;

    Kernel kernel;

    @BeforeEach
    void setUp() {
        kernel = ContractKernels.kernel(binding);
    }

    @Test
    void createdFileHasTheRequestedModeLessTheUmask() throws Exception {
        // fs/namei.c: a new file's mode is mode & ~current_umask() (vfs_prepare_mode in 6.1).
        int umask = Credentials.ofCurrentProcess().umask();
        for (int mode : new int[] {0754, 0640, 0777, 0}) {
            Path file = dir.resolve("m" + Integer.toOctalString(mode));
            kernel.close(kernel.open(file.toString(), OpenFlags.CREAT | OpenFlags.EXCL | OpenFlags.WRONLY, mode));
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file)))
                    .as("mode %o, umask %o", mode, umask)
                    .isEqualTo(rwx(mode & ~umask));
        }
    }

    @Test
    void creatWithoutExclOpensTheExistingFileAndOnlyTruncTruncatesIt() throws Exception {
        Path file = Files.writeString(dir.resolve("e"), "kept");
        kernel.close(kernel.open(file.toString(), OpenFlags.CREAT | OpenFlags.RDWR, 0600));
        assertThat(Files.readString(file)).isEqualTo("kept");
        kernel.close(kernel.open(file.toString(), OpenFlags.RDWR, 0));
        assertThat(Files.readString(file)).isEqualTo("kept");
        kernel.close(kernel.open(file.toString(), OpenFlags.WRONLY | OpenFlags.TRUNC, 0));
        assertThat(Files.size(file)).isZero();
    }

    @Test
    void dacOverrideOpensAFileWhoseModeGrantsNothing() throws Exception {
        // fs/namei.c generic_permission: CAP_DAC_OVERRIDE passes read and write whatever the mode bits say.
        Path file = Files.writeString(dir.resolve("none"), "x");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("---------"));
        if (Credentials.ofCurrentProcess().capable(CAP_DAC_OVERRIDE)) {
            kernel.close(kernel.open(file.toString(), OpenFlags.RDWR, 0));
        } else {
            assertErrno(Errno.EACCES, () -> kernel.open(file.toString(), OpenFlags.RDWR, 0));
        }
    }

    @Test
    void noFollowRefusesASymlinkEvenToADirectoryWithEloop() throws Exception {
        // fs/namei.c: a trailing symlink without LOOKUP_FOLLOW fails the open with ELOOP (open(2), O_NOFOLLOW).
        Path target = Files.createDirectory(dir.resolve("target"));
        Path link = Files.createSymbolicLink(dir.resolve("link"), target);
        assertErrno(Errno.ELOOP, () -> kernel.open(link.toString(), OpenFlags.RDONLY | OpenFlags.NOFOLLOW, 0));
        kernel.close(kernel.open(link.toString(), OpenFlags.RDONLY | OpenFlags.DIRECTORY, 0));
    }

    @Test
    void fstatReportsTheFilesOwnerNotTheCallers() throws Exception {
        // vfs_fstat (fs/stat.c): st_uid is the inode's owner. As root the file is given to nobody (65534) first,
        // so an owner taken from the caller would differ; otherwise the caller owns it and is not root.
        Path file = Files.writeString(dir.resolve("owned"), "x");
        if (Credentials.ofCurrentProcess().euid() == 0) {
            Files.setAttribute(file, "unix:uid", 65534);
        }
        int fd = kernel.open(file.toString(), OpenFlags.RDONLY, 0);
        try {
            assertThat(kernel.fstat(fd)).isEqualTo(new FileStatus((Integer) Files.getAttribute(file, "unix:mode"),
                    (Integer) Files.getAttribute(file, "unix:uid"), 1));
            assertThat(kernel.fstat(fd).uid()).isNotZero();
        } finally {
            kernel.close(fd);
        }
    }

    @Test
    void onlyATrailingSymlinkConcernsNoFollowAndAPlainOpenFollowsIt() throws Exception {
        Path file = Files.writeString(dir.resolve("plain"), "followed");
        Path link = Files.createSymbolicLink(dir.resolve("toPlain"), file);
        kernel.close(kernel.open(file.toString(), OpenFlags.RDONLY | OpenFlags.NOFOLLOW, 0));
        int fd = kernel.open(link.toString(), OpenFlags.RDONLY, 0);
        try {
            assertThat(kernel.fstat(fd).isRegularFile()).isTrue();
            assertThat(kernel.fstat(fd).size()).isEqualTo(8);
        } finally {
            kernel.close(fd);
        }
    }

    @Test
    void aPathThroughARegularFileIsEnotdirWithOrWithoutCreat() throws Exception {
        // fs/namei.c link_path_walk: a component that is no directory ends the walk with ENOTDIR; a missing one
        // with ENOENT, O_CREAT creating only the last
        Path file = Files.writeString(dir.resolve("file"), "x");
        assertErrno(Errno.ENOTDIR, () -> kernel.open(file.resolve("x").toString(), OpenFlags.RDONLY, 0));
        assertErrno(Errno.ENOTDIR, () -> kernel.open(file.resolve("x").toString(), OpenFlags.CREAT | OpenFlags.WRONLY,
                0600));
        assertErrno(Errno.ENOENT, () -> kernel.open(dir.resolve("missing/x").toString(), OpenFlags.CREAT
                | OpenFlags.WRONLY, 0600));
        assertErrno(Errno.ENOENT, () -> kernel.open(dir.resolve("missing").toString(), OpenFlags.RDONLY, 0));
    }

    @Test
    void fallocateRefusesBadModesBeforeTheFileAndSocketsAndRangesPastTheLargestOffset() throws Exception {
        // fs/open.c vfs_fallocate: a hole must keep the size and is no zero range (EOPNOTSUPP); a socket is
        // neither regular file nor block device (ENODEV); offset + len past s_maxbytes or wrapping is EFBIG
        Path file = Files.writeString(dir.resolve("modes"), "abcd");
        withReadWrite(file, fd -> {
            assertErrno(Errno.EOPNOTSUPP, () -> kernel.fallocate(fd, FallocateFlags.PUNCH_HOLE, 0, 2));
            assertErrno(Errno.EOPNOTSUPP, () -> kernel.fallocate(fd, FallocateFlags.PUNCH_HOLE | FallocateFlags.KEEP_SIZE
                    | FallocateFlags.ZERO_RANGE, 0, 2));
            assertErrno(Errno.EFBIG, () -> kernel.fallocate(fd, 0, Long.MAX_VALUE - 1, 2));
            // a bit outside FALLOC_FL_SUPPORTED_MASK, before the file system is asked
            assertErrno(Errno.EOPNOTSUPP, () -> kernel.fallocate(fd, 0x1000, 0, 2));
        });
        assertThat(Files.readString(file)).isEqualTo("abcd");
        int[] pair = kernel.socketpair(SocketConstants.AF_UNIX, SocketConstants.SOCK_STREAM, 0);
        try {
            assertErrno(Errno.ENODEV, () -> kernel.fallocate(pair[0], 0, 0, 1));
            // ksys_pread64 / ksys_pwrite64: a socket has no FMODE_PREAD or FMODE_PWRITE
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buffer = arena.allocate(4);
                assertErrno(Errno.ESPIPE, () -> kernel.pread(pair[0], buffer, 0));
                assertErrno(Errno.ESPIPE, () -> kernel.pwrite(pair[0], buffer, 0));
            }
            // sock_alloc: a socket's inode is S_IFSOCK | 0777, owned by its creator
            assertThat(kernel.fstat(pair[0])).isEqualTo(new FileStatus(FileStatus.S_IFSOCK | 0777,
                    Credentials.ofCurrentProcess().euid(), 0));
        } finally {
            kernel.close(pair[0]);
            kernel.close(pair[1]);
        }
    }

    @Test
    void ftruncateToTheCurrentSizeChangesNoByte() throws Exception {
        Path file = Files.writeString(dir.resolve("t"), "abcd");
        withReadWrite(file, fd -> kernel.ftruncate(fd, 4));
        assertThat(Files.readString(file)).isEqualTo("abcd");
    }

    @Test
    void fallocateWithinTheFileKeepsItsBytesAndPunchedHolesReadAsZerosOnlyInTheirRange() throws Exception {
        Path file = Files.writeString(dir.resolve("a"), "abcdefgh");
        // fs/open.c vfs_fallocate: mode 0 allocates; up to the current end it changes neither size nor bytes.
        withReadWrite(file, fd -> kernel.fallocate(fd, 0, 0, 8));
        assertThat(Files.readString(file)).isEqualTo("abcdefgh");
        withReadWrite(file, fd -> kernel.fallocate(fd, FallocateFlags.PUNCH_HOLE | FallocateFlags.KEEP_SIZE, 2, 2));
        assertThat(Files.readString(file)).isEqualTo("ab\0\0efgh");
        // KEEP_SIZE: a hole reaching past the end neither grows the file nor leaves it as it was inside.
        withReadWrite(file, fd -> kernel.fallocate(fd, FallocateFlags.PUNCH_HOLE | FallocateFlags.KEEP_SIZE, 6,
                4096));
        assertThat(Files.readString(file)).isEqualTo("ab\0\0ef\0\0");
    }

    @Test
    void aLargePunchedHoleZerosExactlyItsRange() throws Exception {
        byte[] data = new byte[200_000];
        Arrays.fill(data, (byte) 'x');
        Path file = Files.write(dir.resolve("big"), data);
        withReadWrite(file, fd -> kernel.fallocate(fd, FallocateFlags.PUNCH_HOLE | FallocateFlags.KEEP_SIZE,
                50_000, 100_000));
        byte[] after = Files.readAllBytes(file);
        assertThat(after).hasSize(200_000);
        for (int i = 0; i < after.length; i++) {
            boolean inHole = i >= 50_000 && i < 150_000;
            if (after[i] != (inHole ? 0 : 'x')) {
                throw new AssertionError("byte " + i + " is " + after[i] + (inHole ? " inside" : " outside")
                        + " the hole [50000, 150000)");
            }
        }
    }

    private interface FdAction {
        void run(int fd) throws KernelException;
    }

    private void withReadWrite(Path file, FdAction action) throws KernelException {
        int fd = kernel.open(file.toString(), OpenFlags.RDWR | OpenFlags.CLOEXEC, 0);
        try {
            action.run(fd);
        } finally {
            kernel.close(fd);
        }
    }

    private static String rwx(int mode) {
        StringBuilder s = new StringBuilder();
        for (int shift = 6; shift >= 0; shift -= 3) {
            int bits = mode >> shift;
            s.append((bits & 4) != 0 ? 'r' : '-').append((bits & 2) != 0 ? 'w' : '-').append((bits & 1) != 0 ? 'x' : '-');
        }
        return s.toString();
    }
}
