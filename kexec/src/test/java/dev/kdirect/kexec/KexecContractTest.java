package dev.kdirect.kexec;

import static dev.kdirect.contract.ContractKernels.assertErrno;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kdirect.Binding;
import dev.kdirect.Capability;
import dev.kdirect.Errno;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.KernelRelease;
import dev.kdirect.KexecFlags;
import dev.kdirect.OpenFlags;
import dev.kdirect.contract.ChildJvm;
import dev.kdirect.contract.ContractKernels;
import dev.kdirect.contract.Outcomes;
import dev.kdirect.contract.TestImages;
import dev.kdirect.rules.BzImageRules;
import dev.kdirect.testing.RequiresRealKernel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * kexec through this module's API with the same images on the real kernel (the QEMU guest) and the simulated one:
 * the same result and errno, bad input included, and where the input is a file {@link KexecValidator} gives the
 * same verdict before the syscall, with the kernel's log message. The syscall-level rules (descriptors, flags,
 * placement, the initrd and crash slots) are native-bindings' KexecSyscallContractTest.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Binding.class)
@RequiresRealKernel
class KexecContractTest {
    private static final long UNLOAD = KexecFlags.UNLOAD;
    private static final long ON_CRASH = KexecFlags.ON_CRASH;
    private static final long NO_INITRAMFS = KexecFlags.NO_INITRAMFS;
    /** bzImage64_load's message when the command line leaves no room for elfcorehdr= (pr_debug in 6.1: not logged; pr_err in 6.12). */
    private static final String ELFCOREHDR =
            "Appending elfcorehdr=<addr> to command line exceeds maximum allowed length";

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
        load(LoadRequest.of(file, commandLine), flags);
    }

    /** kexec_file_load of the request's files (NO_INITRAMFS without an initrd) and command line, NUL added. */
    private void load(LoadRequest request, long flags) throws Exception {
        int fd = kernel.open(request.kernel().toString(), OpenFlags.RDONLY, 0);
        int initrd = request.initrd().isPresent() ? kernel.open(request.initrd().get().toString(), OpenFlags.RDONLY, 0)
                : -1;
        try {
            kernel.kexecFileLoad(fd, initrd, cmdline(request.commandLine()), flags | (initrd < 0 ? NO_INITRAMFS : 0));
        } finally {
            if (initrd >= 0) {
                kernel.close(initrd);
            }
            kernel.close(fd);
        }
    }

    private MemorySegment cmdline(String text) {
        byte[] bytes = KexecValidator.commandLineBytes(text);
        MemorySegment s = arena.allocate(bytes.length);
        MemorySegment.copy(bytes, 0, s, JAVA_BYTE, 0, bytes.length);
        return s;
    }

    /**
     * The kernel refuses the image with this errno and log message ({@code ""}: none), and the validator says so
     * first. On the real kernel the message is read back from the kernel log.
     */
    private void assertRefused(Errno errno, String message, byte[] bytes, String commandLine) throws Exception {
        assertRefused(errno, message, LoadRequest.of(TestImages.write(dir, "image", bytes), commandLine));
    }

    private void assertRefused(Errno errno, String message, LoadRequest request) throws Exception {
        String mark = KernelLog.mark(binding);
        assertErrno(errno, () -> load(request, 0));
        if (binding.isReal()) {
            // bzImage64_load's elfcorehdr= message is a pr_debug in 6.1 and a pr_err in 6.12 (measured on both;
            // the releases between are not checked)
            boolean logged = !message.isEmpty() && (!message.equals(ELFCOREHDR)
                    || KernelRelease.running().atLeast(6, 12));
            assertThat(KernelLog.bzImageMessagesSince(mark)).as("the kernel's log")
                    .isEqualTo(logged ? List.of(message) : List.of());
        }
        assertThat(KexecValidator.check(request)).as("the validator's refusal")
                .hasValueSatisfying(r -> assertThat(List.of(r.errno(), r.message()))
                        .isEqualTo(List.of(errno, message)));
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

    /** bzImage64_probe refuses {@code header->version < 0x020C} (kexec-bzimage64.c, Linux 6.1): 2.12 is the oldest. */
    @Test
    void theOldestBootProtocolLoadedIs2_12() throws Exception {
        Path oldest = TestImages.write(dir, "oldest", TestImages.withU16(image, 0x206, 0x020c));
        assertThat(KexecValidator.check(LoadRequest.of(oldest, ""))).isEmpty();
        load(oldest, "", 0);
        assertThat(kexec.state().loaded()).isTrue();
        kexec.unload();
        byte[] older = TestImages.withU16(image, 0x206, 0x020b);
        assertRefused(Errno.ENOEXEC, "Must be at least protocol version 2.12", older, "");
    }

    /**
     * Each image fails one check and every check the kernel makes after it (bzImage64_probe, then bzImage64_load in
     * arch/x86/kernel/kexec-bzimage64.c, Linux 6.1): the first decides the errno and the message, so two checks
     * run in another order give another answer.
     */
    @Test
    void whenSeveralChecksFailTheKernelsFirstDecides() throws Exception {
        String tooLong = "y".repeat(200);
        byte[] smallCmdline = TestImages.withU32(image, 0x238, 100);
        byte[] truncated = TestImages.truncated(smallCmdline, setupBytes() - 1);
        int xloadflags = TestImages.u16(image, 0x236);
        byte[] above4g = TestImages.withU16(truncated, 0x236, xloadflags & ~2);
        byte[] kernel64 = TestImages.withU16(truncated, 0x236, xloadflags & ~3);
        byte[] loadedHigh = TestImages.withU8(kernel64, 0x211, image[0x211] & ~1);
        byte[] version = TestImages.withU16(loadedHigh, 0x206, 0x020b);
        byte[] bootFlag = TestImages.withU16(version, 0x1fe, 0x55aa);
        byte[] magic = TestImages.withU32(bootFlag, 0x202, 0x58726448); // "HdrX"
        assertRefused(Errno.ENOEXEC, "File is too short to be a bzImage", TestImages.truncated(magic, 1000), tooLong);
        assertRefused(Errno.ENOEXEC, "Not a bzImage", magic, tooLong);
        assertRefused(Errno.ENOEXEC, "No x86 boot sector present", bootFlag, tooLong);
        assertRefused(Errno.ENOEXEC, "Must be at least protocol version 2.12", version, tooLong);
        assertRefused(Errno.ENOEXEC, "zImage not a bzImage", loadedHigh, tooLong);
        assertRefused(Errno.ENOEXEC, "Not a bzImage64. XLF_KERNEL_64 is not set.", kernel64, tooLong);
        assertRefused(Errno.ENOEXEC, "XLF_CAN_BE_LOADED_ABOVE_4G is not set.", above4g, tooLong);
        assertRefused(Errno.ENOEXEC, "bzImage truncated", truncated, tooLong); // before the command line's EINVAL
        assertRefused(Errno.EINVAL, "Kernel command line too long", smallCmdline, tooLong);
        assertRefused(Errno.EINVAL, ELFCOREHDR, smallCmdline, "y".repeat(80)); // 81 <= 100 but 81 + 30 > 100
    }

    /** kimage_file_prepare_segments (kernel/kexec_file.c): the initrd is read after the probe, before the load. */
    @Test
    void anUnreadableInitrdLosesToTheProbeAndWinsOverTheLoad() throws Exception {
        Path empty = Files.write(dir.resolve("initrd"), new byte[0]);
        Path notBzImage = TestImages.write(dir, "magic", TestImages.withU32(image, 0x202, 0x58726448));
        assertRefused(Errno.ENOEXEC, "Not a bzImage", LoadRequest.of(notBzImage, "").withInitrd(empty));
        Path truncated = TestImages.write(dir, "truncated", TestImages.truncated(image, setupBytes() - 1));
        assertRefused(Errno.EINVAL, "", LoadRequest.of(truncated, "").withInitrd(empty));
    }

    /** The boot sector and the setup code: (setup_sects + 1) * 512 bytes, setup_sects 0 meaning 4. */
    private int setupBytes() {
        int sectors = image[0x1f1] & 0xff;
        return ((sectors == 0 ? 4 : sectors) + 1) * 512;
    }

    @Test
    void anImageShorterThanItsSetupCodeIsRefusedAtLoad() throws Exception {
        int setupBytes = setupBytes();
        assertRefused(Errno.ENOEXEC, "bzImage truncated", TestImages.truncated(image, setupBytes - 1), "");
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
        assertRefused(Errno.EINVAL, ELFCOREHDR, image, atLimit + "x");
    }

    /**
     * kexec_file_load and reboot check CAP_SYS_BOOT before anything else (kernel/kexec_file.c, kernel/reboot.c):
     * a valid load, an unload, an unknown flag and an unknown reboot command are all EPERM. The tests run as root,
     * so a real binding runs the steps in a child JVM started without the capability; the simulated kernel runs
     * them as a process with the same credentials.
     */
    @Test
    void withoutCapSysBootEveryCallIsEpermBeforeItsArguments() throws Exception {
        Path file = TestImages.write(dir, "image", image);
        Map<String, String> outcome;
        if (binding.isReal()) {
            String output = ChildJvm.runWithout(Capability.SYS_BOOT, KexecPermissionProgram.class,
                    List.of(Kexec.class), binding.id(), file.toString());
            assertThat(output).as("the child's credentials").contains("CAP_SYS_BOOT false");
            outcome = Outcomes.parse(output);
        } else {
            outcome = KexecPermissionProgram.outcomes(ContractKernels.simulatedWithout(Capability.SYS_BOOT), file)
                    .asMap();
        }
        assertThat(outcome).as("on %s", binding)
                .containsEntry("load", "EPERM")
                .containsEntry("unload", "EPERM")
                .containsEntry("unknown-flag", "EPERM")
                .containsEntry("reboot-unknown-command", "EPERM")
                .containsEntry("loaded", "false");
        assertThat(outcome.get("load.hint")).contains("CAP_SYS_BOOT");
        assertThat(kexec.state().loaded()).isFalse();
    }

    /** kernel_read_file (fs/kernel_read_file.c): an empty file is EINVAL, and the validator says so first. */
    @Test
    void anEmptyFileIsRefusedByTheKernelAndTheValidator() throws Exception {
        assertRefused(Errno.EINVAL, "", new byte[0], "");
    }

    @Test
    void theValidatorsErrorNamesTheKernelsMessage() throws Exception {
        Path file = TestImages.write(dir, "image", TestImages.withU16(image, 0x206, 0x020b));
        KernelException e = org.assertj.core.api.Assertions.catchThrowableOfType(KernelException.class,
                () -> kexec.load(LoadRequest.of(file, "")));
        assertThat(e.error()).isEqualTo(Errno.ENOEXEC);
        assertThat(e.hint()).contains("Must be at least protocol version 2.12").contains("2.11")
                .contains("before the syscall");
        assertThat(Optional.ofNullable(e.getMessage())).isPresent();
    }
}
