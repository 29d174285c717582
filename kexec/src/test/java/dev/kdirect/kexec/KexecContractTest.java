package dev.kdirect.kexec;

import static dev.kdirect.contract.ContractKernels.assertErrno;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Binding;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.OpenFlags;
import dev.kdirect.contract.ContractKernels;
import dev.kdirect.testing.RequiresRealKernel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * kexec_file_load with the same images and calls on the real kernel (the QEMU guest) and the simulated one:
 * the same result and errno, bad input included; where the input is a file, {@link KexecValidator} must give
 * the same verdict before the syscall.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Binding.class)
@RequiresRealKernel
class KexecContractTest {
    private static final long UNLOAD = 1;
    private static final long ON_CRASH = 2;
    private static final long NO_INITRAMFS = 4;

    @Parameter
    Binding binding;

    @TempDir
    Path dir;

    Kernel kernel;
    Kexec kexec;
    byte[] image;
    Arena arena;

    @BeforeEach
    void setUp() throws Exception {
        kernel = ContractKernels.kernel(binding, Feature.KEXEC_FILE_LOAD);
        kexec = Kexec.on(kernel);
        image = TestImages.loadable();
        arena = Arena.ofConfined();
        kexec.unload();
    }

    @AfterEach
    void tearDown() throws KernelException {
        if (kexec != null) {
            kexec.unload();
            arena.close();
        }
    }

    /** kexec_file_load of a file, no initrd, with this command line (a NUL is added). */
    private void load(Path file, String commandLine, long flags) throws Exception {
        int fd = kernel.open(file.toString(), OpenFlags.RDONLY, 0);
        try {
            kernel.kexecFileLoad(fd, -1, cmdline(commandLine), flags | NO_INITRAMFS);
        } finally {
            kernel.close(fd);
        }
    }

    private MemorySegment cmdline(String text) {
        byte[] bytes = KexecValidator.commandLineBytes(text);
        MemorySegment s = arena.allocate(bytes.length);
        MemorySegment.copy(bytes, 0, s, JAVA_BYTE, 0, bytes.length);
        return s;
    }

    /** The kernel refuses the image with this errno, and the validator says so first. */
    private void assertRefused(String errno, byte[] bytes, String commandLine) throws Exception {
        Path file = TestImages.write(dir, "image", bytes);
        assertErrno(errno, () -> load(file, commandLine, 0));
        assertThat(KexecValidator.check(LoadRequest.of(file, commandLine)))
                .hasValueSatisfying(r -> assertThat(r.errno()).isEqualTo(errno));
        assertThat(kexec.state().loaded()).isFalse();
    }

    @Test
    void aValidImageLoadsAndUnloads() throws Exception {
        Path file = TestImages.write(dir, "image", image);
        assertThat(KexecValidator.check(LoadRequest.of(file, "console=ttyS0"))).isEmpty();
        kexec.load(LoadRequest.of(file, "console=ttyS0 kdirect.test=1"));
        assertThat(kexec.state().loaded()).isTrue();
        kexec.unload();
        assertThat(kexec.state().loaded()).isFalse();
        kexec.unload(); // nothing loaded: still 0
    }

    @Test
    void theHeaderChecksRefuseInTheKernelsOrder() throws Exception {
        assertRefused("ENOEXEC", TestImages.truncated(image, 1000), "");
        assertRefused("ENOEXEC", TestImages.withU32(image, 0x202, 0x58726448), ""); // "HdrX"
        assertRefused("ENOEXEC", TestImages.withU16(image, 0x1fe, 0x55aa), "");
        assertRefused("ENOEXEC", TestImages.withU16(image, 0x206, 0x020b), "");
        assertRefused("ENOEXEC", TestImages.withU8(image, 0x211, 0), "");
        int xloadflags = TestImages.u16(image, 0x236);
        assertRefused("ENOEXEC", TestImages.withU16(image, 0x236, xloadflags & ~1), "");
        assertRefused("ENOEXEC", TestImages.withU16(image, 0x236, xloadflags & ~2), "");
        // A wrong magic wins over a bad protocol version: the first failing check decides.
        assertRefused("ENOEXEC", TestImages.withU16(TestImages.withU32(image, 0x202, 0), 0x206, 0x0200), "");
    }

    @Test
    void anImageShorterThanItsSetupCodeIsRefusedAtLoad() throws Exception {
        int setupBytes = ((image[0x1f1] & 0xff) + 1) * 512;
        assertRefused("ENOEXEC", TestImages.truncated(image, setupBytes - 1), "");
        Path exact = TestImages.write(dir, "exact", TestImages.truncated(image, setupBytes + 4096));
        load(exact, "", 0);
        assertThat(kexec.state().loaded()).isTrue();
    }

    @Test
    void theCommandLineMayUseTheImagesCmdlineSizeLessThirtyBytes() throws Exception {
        Path file = TestImages.write(dir, "image", image);
        long limit = BzImage.of(image).cmdlineSize() - 30; // with the NUL
        String atLimit = "x".repeat((int) limit - 1);
        load(file, atLimit, 0);
        assertThat(kexec.state().loaded()).isTrue();
        kexec.unload();
        assertRefused("EINVAL", image, atLimit + "x");
        // with a small cmdline_size, "too long" proper comes first
        byte[] small = TestImages.withU32(image, 0x238, 100);
        assertRefused("EINVAL", small, "y".repeat(80)); // 81 <= 100 but 81 + 30 > 100
        assertRefused("EINVAL", small, "y".repeat(101));
    }

    @Test
    void aCommandLineWithoutItsNulIsEinvalAndALengthOfZeroLoads() throws Exception {
        Path file = TestImages.write(dir, "image", image);
        int fd = kernel.open(file.toString(), OpenFlags.RDONLY, 0);
        try {
            MemorySegment noNul = arena.allocate(4).fill((byte) 'a');
            assertErrno("EINVAL", () -> kernel.kexecFileLoad(fd, -1, noNul, NO_INITRAMFS));
            kernel.kexecFileLoad(fd, -1, MemorySegment.NULL, NO_INITRAMFS);
            assertThat(kexec.state().loaded()).isTrue();
        } finally {
            kernel.close(fd);
        }
    }

    @Test
    void filesThatAreNotReadableRegularNonEmptyImagesAreRefused() throws Exception {
        assertRefused("EINVAL", new byte[0], "");
        int directory = kernel.open(dir.toString(), OpenFlags.RDONLY | OpenFlags.DIRECTORY, 0);
        try {
            assertErrno("EINVAL", () -> kernel.kexecFileLoad(directory, -1, cmdline(""), NO_INITRAMFS));
        } finally {
            kernel.close(directory);
        }
        assertErrno("EBADF", () -> kernel.kexecFileLoad(999, -1, cmdline(""), NO_INITRAMFS));
        Path file = TestImages.write(dir, "image", image);
        int writable = kernel.open(file.toString(), OpenFlags.RDWR, 0);
        try {
            assertErrno("ETXTBSY", () -> kernel.kexecFileLoad(writable, -1, cmdline(""), NO_INITRAMFS));
        } finally {
            kernel.close(writable);
        }
        int writeOnly = kernel.open(file.toString(), OpenFlags.WRONLY, 0);
        try {
            assertErrno("EBADF", () -> kernel.kexecFileLoad(writeOnly, -1, cmdline(""), NO_INITRAMFS));
        } finally {
            kernel.close(writeOnly);
        }
        assertThat(kexec.state().loaded()).isFalse();
    }

    @Test
    void unknownFlagsAreEinvalBeforeAnyFileIsRead() {
        assertErrno("EINVAL", () -> kernel.kexecFileLoad(999, 999, MemorySegment.NULL, 8));
        assertErrno("EINVAL", () -> kernel.kexecFileLoad(999, 999, MemorySegment.NULL, UNLOAD | 0x10));
    }

    @Test
    void anInitrdIsReadUnlessNoInitramfs() throws Exception {
        Path file = TestImages.write(dir, "image", image);
        Path emptyInitrd = Files.write(dir.resolve("initrd"), new byte[0]);
        int fd = kernel.open(file.toString(), OpenFlags.RDONLY, 0);
        int initrd = kernel.open(emptyInitrd.toString(), OpenFlags.RDONLY, 0);
        try {
            assertErrno("EINVAL", () -> kernel.kexecFileLoad(fd, initrd, cmdline(""), 0));
            assertErrno("EBADF", () -> kernel.kexecFileLoad(fd, 999, cmdline(""), 0));
            kernel.kexecFileLoad(fd, 999, cmdline(""), NO_INITRAMFS); // the initrd fd is not looked at
        } finally {
            kernel.close(initrd);
            kernel.close(fd);
        }
        Files.write(emptyInitrd, new byte[] {1, 2, 3});
        kexec.load(LoadRequest.of(file, "").withInitrd(emptyInitrd));
        assertThat(kexec.state().loaded()).isTrue();
    }

    @Test
    void aCrashLoadWithoutCrashkernelMemoryFailsAndLeavesNoCrashKernel() throws Exception {
        Path file = TestImages.write(dir, "image", image);
        KexecState before = kexec.state();
        assertThat(before.crashSize()).isZero();
        assertErrno("EADDRNOTAVAIL", () -> load(file, "", ON_CRASH));
        assertThat(kexec.state().crashLoaded()).isFalse();
        kexec.unloadCrash();
    }

    @Test
    void aKexecRebootWithNothingLoadedAndAnUnknownRebootCommandAreEinval() {
        // kernel_kexec: no kexec_image (a crash kernel would not count) -> EINVAL; nothing reboots
        assertErrno("EINVAL", () -> kernel.reboot(Kernel.REBOOT_CMD_KEXEC));
        assertErrno("EINVAL", () -> kernel.reboot(0x12345678));
    }

    @Test
    void theValidatorsErrorNamesTheKernelsMessage() throws Exception {
        Path file = TestImages.write(dir, "image", TestImages.withU16(image, 0x206, 0x020b));
        KernelException e = org.assertj.core.api.Assertions.catchThrowableOfType(KernelException.class,
                () -> kexec.load(LoadRequest.of(file, "")));
        assertThat(e.errnoName()).isEqualTo("ENOEXEC");
        assertThat(e.hint()).contains("Must be at least protocol version 2.12").contains("2.11")
                .contains("before the syscall");
        assertThat(Optional.ofNullable(e.getMessage())).isPresent();
    }
}
