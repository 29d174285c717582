package dev.kdirect.kexec;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import dev.kdirect.Binding;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.Kernels;
import dev.kdirect.KexecFlags;
import dev.kdirect.OpenFlags;
import dev.kdirect.rules.Refusal;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Loading, unloading and booting kernels with kexec_file_load(2) and reboot(2), on the real kernel where it has
 * CONFIG_KEXEC_FILE and the caller CAP_SYS_BOOT, or on the simulated kernel.
 *
 * <p>{@link #load} first applies the kernel's own checks ({@link KexecValidator}), so a bad image or command line
 * fails with the kernel's errno and log message before any syscall. The kernel replaces a loaded kernel only
 * when the new load succeeds; a crash kernel, however, is freed before its replacement is tried (kernel/kexec_file.c),
 * so a failed crash load leaves none loaded.
 */
public final class Kexec {
    static final long UNLOAD = KexecFlags.UNLOAD;
    static final long ON_CRASH = KexecFlags.ON_CRASH;
    static final long NO_INITRAMFS = KexecFlags.NO_INITRAMFS;
    private static final Pattern LOCKDOWN_ACTIVE = Pattern.compile("\\[(\\w+)]");

    private final Kernel kernel;

    private Kexec(Kernel kernel) {
        this.kernel = Objects.requireNonNull(kernel);
    }

    /** kexec on the kernel for {@link Feature#KEXEC_FILE_LOAD}: real where it works, simulated elsewhere. */
    public static Kexec system() {
        return new Kexec(Kernels.forFeature(Feature.KEXEC_FILE_LOAD));
    }

    /** kexec on a given kernel. */
    public static Kexec on(Kernel kernel) {
        return new Kexec(kernel);
    }

    /** The kernel the calls go to. */
    public Kernel kernel() {
        return kernel;
    }

    /**
     * Which kernel this handle is on: a real binding, or {@link Binding#SIMULATED} (a model: no enforcement
     * by the hardware or the kernel).
     */
    public Binding binding() {
        return kernel.binding();
    }

    /**
     * Reads the header of a kernel file after the checks kexec_file_load makes first on it (kernel_read_file's and
     * bzImage64_probe's, {@link KexecValidator#probe}), loading nothing.
     *
     * @throws KernelException what {@link #load} throws for the same file: ENOENT, EINVAL (not a regular file,
     *     empty), EFBIG, or ENOEXEC (not an x86-64 bzImage)
     * @throws IOException when the file cannot be read (AccessDeniedException: no read permission)
     */
    public static BzImage probe(Path kernelFile) throws KernelException, IOException {
        Optional<Refusal> refusal = KexecValidator.probe(kernelFile);
        if (refusal.isPresent()) {
            throw refused(refusal.get(), LoadRequest.of(kernelFile, ""));
        }
        return BzImage.read(kernelFile);
    }

    /**
     * Loads a kernel to reboot into, or a crash kernel: validates it, opens the files read-only, and calls
     * kexec_file_load with NO_INITRAMFS when there is no initrd and ON_CRASH for a crash kernel.
     *
     * @throws KernelException the kernel's errno, from the validation (ENOEXEC, EINVAL, EFBIG, ...) or from the
     *     syscall (EPERM: no CAP_SYS_BOOT, lockdown or kexec_load_disabled; ETXTBSY: the file is open for
     *     writing; EADDRNOTAVAIL: a crash load without crashkernel= memory; ENOSYS: no CONFIG_KEXEC_FILE)
     * @throws IOException when a file cannot be read to validate it
     */
    public void load(LoadRequest request) throws KernelException, IOException {
        Optional<Refusal> refusal = KexecValidator.check(request);
        if (refusal.isPresent()) {
            throw refused(refusal.get(), request);
        }
        byte[] commandLine = KexecValidator.commandLineBytes(request.commandLine());
        long flags = (request.crash() ? ON_CRASH : 0) | (request.initrd().isEmpty() ? NO_INITRAMFS : 0);
        int kernelFd = kernel.open(request.kernel().toString(), OpenFlags.RDONLY | OpenFlags.CLOEXEC, 0);
        try {
            int initrdFd = request.initrd().isPresent()
                    ? kernel.open(request.initrd().get().toString(), OpenFlags.RDONLY | OpenFlags.CLOEXEC, 0) : -1;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment cmdline = arena.allocate(commandLine.length);
                MemorySegment.copy(commandLine, 0, cmdline, JAVA_BYTE, 0, commandLine.length);
                kernel.kexecFileLoad(kernelFd, initrdFd, cmdline, flags);
            } finally {
                if (initrdFd >= 0) {
                    kernel.close(initrdFd);
                }
            }
        } finally {
            kernel.close(kernelFd);
        }
    }

    /** Unloads the kernel loaded for reboot; succeeds when none is loaded. */
    public void unload() throws KernelException {
        kernel.kexecFileLoad(-1, -1, MemorySegment.NULL, UNLOAD);
    }

    /** Unloads the crash kernel; succeeds when none is loaded. */
    public void unloadCrash() throws KernelException {
        kernel.kexecFileLoad(-1, -1, MemorySegment.NULL, UNLOAD | ON_CRASH);
    }

    /** What sysfs and procfs say, read through this kexec's kernel. */
    public KexecState state() {
        String lockdown = read("/sys/kernel/security/lockdown").map(Kexec::activeLockdown).orElse("unknown");
        return new KexecState(sysfsFlag("loaded"), sysfsFlag("crash_loaded"),
                sysfs("crash_size").map(Long::parseLong).orElse(0L),
                read("/proc/sys/kernel/kexec_load_disabled").map(v -> !v.equals("0")).orElse(false), lockdown);
    }

    /**
     * Syncs the file systems and reboots into the loaded kernel (reboot(2) neither syncs nor unmounts). On the
     * real kernel this does not return. The simulated kernel ends the call with {@link dev.kdirect.SimulatedReboot},
     * the record of the boot it modelled.
     *
     * @throws IllegalStateException when no kernel is loaded: load one first
     * @throws KernelException EPERM without CAP_SYS_BOOT
     */
    public void reboot(RebootConfirmation confirmation) throws KernelException {
        Objects.requireNonNull(confirmation, "reboot needs RebootConfirmation.REBOOT_NOW");
        if (!state().loaded()) {
            throw new IllegalStateException("no kernel is loaded for kexec (/sys/kernel/kexec_loaded is 0):"
                    + " load one first");
        }
        kernel.sync();
        kernel.reboot(Kernel.REBOOT_CMD_KEXEC);
    }

    private static KernelException refused(Refusal refusal, LoadRequest request) {
        String hint = refusal.message().isEmpty() ? refusal.rule()
                : "the kernel would log \"" + refusal.message() + "\": " + refusal.rule();
        return new KernelException(refusal.errno(), "kexec_file_load",
                "kernel=" + request.kernel() + request.initrd().map(i -> ", initrd=" + i).orElse("")
                        + ", cmdline_len=" + KexecValidator.commandLineBytes(request.commandLine()).length
                        + (request.crash() ? ", flags=ON_CRASH" : ""), hint + " (checked before the syscall)");
    }

    /** /sys/kernel/kexec_NAME (kernel/ksysfs.c), or /sys/kernel/kexec/NAME where newer kernels moved it. */
    private Optional<String> sysfs(String name) {
        return read("/sys/kernel/kexec_" + name).or(() -> read("/sys/kernel/kexec/" + name));
    }

    private boolean sysfsFlag(String name) {
        return sysfs(name).map(v -> !v.equals("0")).orElse(false);
    }

    private Optional<String> read(String path) {
        try {
            int fd = kernel.open(path, OpenFlags.RDONLY | OpenFlags.CLOEXEC, 0);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment buffer = arena.allocate(256);
                long n = kernel.pread(fd, buffer, 0);
                return Optional.of(new String(buffer.asSlice(0, n).toArray(JAVA_BYTE), StandardCharsets.US_ASCII)
                        .trim());
            } finally {
                kernel.close(fd);
            }
        } catch (KernelException e) {
            return Optional.empty();
        }
    }

    private static String activeLockdown(String modes) {
        Matcher m = LOCKDOWN_ACTIVE.matcher(modes);
        return m.find() ? m.group(1) : "unknown";
    }
}
