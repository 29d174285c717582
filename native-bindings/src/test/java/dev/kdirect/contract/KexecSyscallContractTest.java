package dev.kdirect.contract;

import static dev.kdirect.contract.ContractKernels.assertErrno;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Binding;
import dev.kdirect.Errno;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.KernelRelease;
import dev.kdirect.KexecFlags;
import dev.kdirect.OpenFlags;
import dev.kdirect.rules.BzImageRules;
import dev.kdirect.testing.RequiresRealKernel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * kexec_file_load and the kexec reboot at the syscall level, with the same images and calls on the real kernel (the
 * QEMU guest) and the simulated one: the same result and errno, bad input included. The state is read from
 * /sys/kernel/kexec_*, which the simulated kernel serves too. What the kexec module's validator says before the
 * syscall, and the kernel's log messages, are the kexec module's KexecContractTest.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Binding.class)
@RequiresRealKernel
class KexecSyscallContractTest {
    private static final long UNLOAD = KexecFlags.UNLOAD;
    private static final long ON_CRASH = KexecFlags.ON_CRASH;
    private static final long NO_INITRAMFS = KexecFlags.NO_INITRAMFS;

    @Parameter
    Binding binding;

    @TempDir
    Path dir;

    Kernel kernel;
    byte[] image;
    Arena arena;

    @BeforeEach
    void setUp() throws Exception {
        kernel = ContractKernels.kernel(binding, Feature.KEXEC_FILE_LOAD);
        image = TestImages.loadable();
        arena = Arena.ofConfined();
        unload();
    }

    @AfterEach
    void tearDown() throws KernelException {
        if (arena != null) {
            unload();
            arena.close();
        }
    }

    private void unload() throws KernelException {
        kernel.kexecFileLoad(-1, -1, MemorySegment.NULL, UNLOAD);
    }

    /** kexec_file_load of a file, no initrd, with this command line (a NUL is added). */
    private void load(Path file, String commandLine, long flags) throws Exception {
        load(file, null, commandLine, flags);
    }

    /** kexec_file_load of a file and initrd (NO_INITRAMFS without one) with this command line, NUL added. */
    private void load(Path file, Path initrdFile, String commandLine, long flags) throws Exception {
        int fd = kernel.open(file.toString(), OpenFlags.RDONLY, 0);
        int initrd = initrdFile != null ? kernel.open(initrdFile.toString(), OpenFlags.RDONLY, 0) : -1;
        try {
            kernel.kexecFileLoad(fd, initrd, cmdline(commandLine), flags | (initrd < 0 ? NO_INITRAMFS : 0));
        } finally {
            if (initrd >= 0) {
                kernel.close(initrd);
            }
            kernel.close(fd);
        }
    }

    private MemorySegment cmdline(String text) {
        byte[] bytes = (text + "\0").getBytes(StandardCharsets.UTF_8);
        MemorySegment s = arena.allocate(bytes.length);
        MemorySegment.copy(bytes, 0, s, JAVA_BYTE, 0, bytes.length);
        return s;
    }

    /** A /sys/kernel file, read through the kernel under test, without its newline. */
    private String sysfs(String name) throws KernelException {
        int fd = kernel.open("/sys/kernel/" + name, OpenFlags.RDONLY, 0);
        try {
            MemorySegment buffer = arena.allocate(32);
            long n = kernel.pread(fd, buffer, 0);
            return new String(buffer.asSlice(0, n).toArray(JAVA_BYTE), StandardCharsets.US_ASCII).strip();
        } finally {
            kernel.close(fd);
        }
    }

    private boolean loaded() throws KernelException {
        return sysfs("kexec_loaded").equals("1");
    }

    /** The boot sector and the setup code: (setup_sects + 1) * 512 bytes, setup_sects 0 meaning 4. */
    private int setupBytes() {
        int sectors = image[BzImageRules.SETUP_SECTS] & 0xff;
        return ((sectors == 0 ? 4 : sectors) + 1) * 512;
    }

    /** The command line's NUL is checked after the probe and the initrd, before bzImage64_load. */
    @Test
    void aCommandLineWithoutItsNulLosesToTheProbeAndWinsOverTheLoad() throws Exception {
        MemorySegment noNul = arena.allocate(4).fill((byte) 'a');
        Path notBzImage = TestImages.write(dir, "magic", TestImages.withU32(image, 0x202, 0x58726448));
        Path truncated = TestImages.write(dir, "truncated", TestImages.truncated(image, setupBytes() - 1));
        for (var expected : List.of(Map.entry(notBzImage, Errno.ENOEXEC), Map.entry(truncated, Errno.EINVAL))) {
            int fd = kernel.open(expected.getKey().toString(), OpenFlags.RDONLY, 0);
            try {
                assertErrno(expected.getValue(), () -> kernel.kexecFileLoad(fd, -1, noNul, NO_INITRAMFS));
            } finally {
                kernel.close(fd);
            }
        }
    }

    @Test
    void aCommandLineWithoutItsNulIsEinvalAndALengthOfZeroLoads() throws Exception {
        Path file = TestImages.write(dir, "image", image);
        int fd = kernel.open(file.toString(), OpenFlags.RDONLY, 0);
        try {
            MemorySegment noNul = arena.allocate(4).fill((byte) 'a');
            assertErrno(Errno.EINVAL, () -> kernel.kexecFileLoad(fd, -1, noNul, NO_INITRAMFS));
            kernel.kexecFileLoad(fd, -1, MemorySegment.NULL, NO_INITRAMFS);
            assertThat(loaded()).isTrue();
        } finally {
            kernel.close(fd);
        }
    }

    @Test
    void filesThatAreNotReadableRegularNonEmptyImagesAreRefused() throws Exception {
        Path empty = TestImages.write(dir, "empty", new byte[0]);
        assertErrno(Errno.EINVAL, () -> load(empty, "", 0));
        int directory = kernel.open(dir.toString(), OpenFlags.RDONLY | OpenFlags.DIRECTORY, 0);
        try {
            assertErrno(Errno.EINVAL, () -> kernel.kexecFileLoad(directory, -1, cmdline(""), NO_INITRAMFS));
        } finally {
            kernel.close(directory);
        }
        assertErrno(Errno.EBADF, () -> kernel.kexecFileLoad(999, -1, cmdline(""), NO_INITRAMFS));
        Path file = TestImages.write(dir, "image", image);
        int writable = kernel.open(file.toString(), OpenFlags.RDWR, 0);
        try {
            assertErrno(Errno.ETXTBSY, () -> kernel.kexecFileLoad(writable, -1, cmdline(""), NO_INITRAMFS));
        } finally {
            kernel.close(writable);
        }
        int writeOnly = kernel.open(file.toString(), OpenFlags.WRONLY, 0);
        try {
            assertErrno(Errno.EBADF, () -> kernel.kexecFileLoad(writeOnly, -1, cmdline(""), NO_INITRAMFS));
        } finally {
            kernel.close(writeOnly);
        }
        assertThat(loaded()).isFalse();
    }

    /**
     * Where the kernel segment goes (PAGE_ALIGN(init_size) bytes, aligned to kernel_alignment, top-down through
     * System RAM) and the segment checks after it, on the QEMU guest's 3 GiB, which the simulated machine has too:
     * {kernel_alignment, init_size, errno or 0}, each measured in the guest (kernel 6.1), the same on 6.12.
     */
    @Test
    void theKernelSegmentIsPlacedTopDownOrRefusedAsTheKernelRefuses() throws Exception {
        long[][] cases = {
            {0x200000, 0x10000, 0}, // the 64 KiB image's bytes fit its memory
            {0x40000000L, 0x10000000, 0}, // 256 MiB at 2 GiB, below purgatory at the top
            {0x80000000L, 0x1000000, 0}, // 16 MiB at 2 GiB
            {0x200000, 0x8000, Errno.EINVAL.value()}, // more file bytes than memory (bufsz > memsz)
            {0x200000, 0, Errno.EINVAL.value()},
            {0x200000, 0xffffffffL, Errno.EINVAL.value()}, // PAGE_ALIGN of a u32 wraps to 0
            {0x200000, 0x80000000L, Errno.EINVAL.value()}, // placed, but more than half of the memory
            {0x40000000L, 0x80000000L, Errno.EADDRNOTAVAIL.value()}, // no 1 GiB-aligned 2 GiB hole
            {0x80000000L, 0x40000000L, Errno.EADDRNOTAVAIL.value()}}; // 2 GiB-aligned: only 0, below the minimum
        for (long[] c : cases) {
            Path file = TestImages.write(dir, "placed", TestImages.withU32(TestImages.withU32(image,
                    BzImageRules.KERNEL_ALIGNMENT, (int) c[0]), BzImageRules.INIT_SIZE, (int) c[1]));
            String what = String.format("kernel_alignment 0x%x, init_size 0x%x", c[0], c[1]);
            if (c[2] == 0) {
                load(file, "", 0);
                assertThat(loaded()).as(what).isTrue();
                unload();
            } else {
                Errno expected = Errno.of((int) c[2]);
                assertErrno(expected, () -> load(file, "", 0));
                assertThat(loaded()).as(what).isFalse();
            }
        }
    }

    /**
     * An alignment that is not a power of two: the kernel masks the candidate with {@code ~(align - 1)}. Before 6.8
     * the candidate is {@code end - memsz}, one byte below a page boundary, which the mask leaves off a page boundary
     * unless the alignment is a multiple of 4096; sanity_check_segment_list then refuses the segment
     * (EADDRNOTAVAIL). 6.8 ("kexec_file: fix incorrect temp_start value") made it {@code end - memsz + 1}, a page
     * boundary, which any mask keeps: 0x12345 loads. A whole number of pages that is no power of two clears
     * arbitrary bits above them and the segment is placed; 0xffffffff clears all but bit 0: 0, below 1 MiB.
     */
    @Test
    void aKernelAlignmentThatIsNoPowerOfTwoIsMaskedAsTheKernelMasksIt() throws Exception {
        boolean offByOne = !KernelRelease.running().atLeast(6, 8);
        for (long[] c : new long[][] {{0x12345, offByOne ? Errno.EADDRNOTAVAIL.value() : 0}, {0x3000, 0},
            {0x123000, 0}, {0x7fff_f000L, 0}, {0xffff_ffffL, Errno.EADDRNOTAVAIL.value()}}) {
            Path file = TestImages.write(dir, "odd", TestImages.withU32(image, BzImageRules.KERNEL_ALIGNMENT,
                    (int) c[0]));
            if (c[1] == 0) {
                load(file, "", 0);
                assertThat(loaded()).as("kernel_alignment 0x%x", c[0]).isTrue();
                unload();
            } else {
                assertErrno(Errno.of((int) c[1]), () -> load(file, "", 0));
                assertThat(loaded()).isFalse();
            }
        }
    }

    /**
     * pref_address (0x258, u64): 6.12's bzImage64_load makes it the kernel segment's minimum where it is at least
     * 1 MiB, so one above the top of memory (3 GiB in the guest, or a top byte set) leaves no hole (EADDRNOTAVAIL);
     * 6.1's ignores it. Below the top the segment is placed as before.
     */
    @Test
    void aPreferredAddressIsTheKernelSegmentsMinimumFrom612() throws Exception {
        boolean minimum = KernelRelease.running().atLeast(6, 12);
        for (long[] c : new long[][] {{0x1000, 0}, {0x8000_0000L, 0},
            {0xc000_0000L, minimum ? Errno.EADDRNOTAVAIL.value() : 0},
            {0x0100_0000_0000_0000L, minimum ? Errno.EADDRNOTAVAIL.value() : 0}}) {
            Path file = TestImages.write(dir, "pref", TestImages.withU32(TestImages.withU32(image,
                    BzImageRules.PREF_ADDRESS, (int) c[0]), BzImageRules.PREF_ADDRESS + 4, (int) (c[0] >>> 32)));
            if (c[1] == 0) {
                load(file, "", 0);
                assertThat(loaded()).as("pref_address 0x%x", c[0]).isTrue();
                unload();
            } else {
                assertErrno(Errno.of((int) c[1]), () -> load(file, "", 0));
                assertThat(loaded()).isFalse();
            }
        }
    }

    /**
     * 0x40 is unknown to every kernel (6.1, 6.12 and the current source's KEXEC_FILE_FLAGS); 8 is
     * KEXEC_FILE_DEBUG since 6.8, so the call goes on to read the kernel fd (EBADF), or unloads.
     */
    @Test
    void unknownFlagsAreEinvalBeforeAnyFileIsRead() throws Exception {
        assertErrno(Errno.EINVAL, () -> kernel.kexecFileLoad(999, 999, MemorySegment.NULL, 0x40));
        assertErrno(Errno.EINVAL, () -> kernel.kexecFileLoad(999, 999, MemorySegment.NULL, UNLOAD | 0x40));
        if (KernelRelease.running().atLeast(6, 8)) {
            assertErrno(Errno.EBADF, () -> kernel.kexecFileLoad(999, 999, MemorySegment.NULL, KexecFlags.DEBUG));
            kernel.kexecFileLoad(999, 999, MemorySegment.NULL, UNLOAD | KexecFlags.DEBUG);
        } else {
            assertErrno(Errno.EINVAL, () -> kernel.kexecFileLoad(999, 999, MemorySegment.NULL, KexecFlags.DEBUG));
            assertErrno(Errno.EINVAL, () -> kernel.kexecFileLoad(999, 999, MemorySegment.NULL,
                    UNLOAD | KexecFlags.DEBUG));
        }
    }

    @Test
    void anInitrdIsReadUnlessNoInitramfs() throws Exception {
        Path file = TestImages.write(dir, "image", image);
        Path emptyInitrd = Files.write(dir.resolve("initrd"), new byte[0]);
        int fd = kernel.open(file.toString(), OpenFlags.RDONLY, 0);
        int initrd = kernel.open(emptyInitrd.toString(), OpenFlags.RDONLY, 0);
        try {
            assertErrno(Errno.EINVAL, () -> kernel.kexecFileLoad(fd, initrd, cmdline(""), 0));
            assertErrno(Errno.EBADF, () -> kernel.kexecFileLoad(fd, 999, cmdline(""), 0));
            kernel.kexecFileLoad(fd, 999, cmdline(""), NO_INITRAMFS); // the initrd fd is not looked at
        } finally {
            kernel.close(initrd);
            kernel.close(fd);
        }
        Files.write(emptyInitrd, new byte[] {1, 2, 3});
        load(file, emptyInitrd, "", 0);
        assertThat(loaded()).isTrue();
    }

    @Test
    void aCrashLoadWithoutCrashkernelMemoryFailsAndLeavesNoCrashKernel() throws Exception {
        Path file = TestImages.write(dir, "image", image);
        assertThat(sysfs("kexec_crash_size")).isEqualTo("0");
        assertErrno(Errno.EADDRNOTAVAIL, () -> load(file, "", ON_CRASH));
        assertThat(sysfs("kexec_crash_loaded")).isEqualTo("0");
        kernel.kexecFileLoad(-1, -1, MemorySegment.NULL, UNLOAD | ON_CRASH);
    }

    @Test
    void aKexecRebootWithNothingLoadedAndAnUnknownRebootCommandAreEinval() {
        // kernel_kexec: no kexec_image (a crash kernel would not count) -> EINVAL; nothing reboots
        assertErrno(Errno.EINVAL, () -> kernel.reboot(Kernel.REBOOT_CMD_KEXEC));
        assertErrno(Errno.EINVAL, () -> kernel.reboot(0x12345678));
    }
}
