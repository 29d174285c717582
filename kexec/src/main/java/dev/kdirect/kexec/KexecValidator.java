package dev.kdirect.kexec;

import dev.kdirect.Errno;
import dev.kdirect.rules.BzImageRules;
import dev.kdirect.rules.Refusal;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The verdict kexec_file_load would give on a load request, reached without the syscall: the checks of
 * kernel_read_file (regular, non-empty file of at most 4 GiB), bzImage64_probe, the initrd read, the command
 * line's NUL, and bzImage64_load's length checks, in the kernel's order, with its errno and log message. Checks
 * that need the running kernel's state (privilege, lockdown, a writer holding the file, memory for the segments,
 * crashkernel= for a crash load) are left to the syscall.
 */
public final class KexecValidator {
    private static final long FILE_SIZE_MAX = 4L << 30; // KEXEC_FILE_SIZE_MAX

    private KexecValidator() {
    }

    /** The refusal the kernel would give, or empty when the image passes every check made here. */
    public static Optional<Refusal> check(LoadRequest request) throws IOException {
        Optional<Refusal> probe = probe(request.kernel());
        if (probe.isPresent()) {
            return probe;
        }
        BzImage image = BzImage.read(request.kernel());
        if (request.initrd().isPresent()) {
            Optional<Refusal> initrd = readable(request.initrd().get(), "initrd");
            if (initrd.isPresent()) {
                return initrd;
            }
        }
        return BzImageRules.load(image.head(), image.length(), commandLineBytes(request.commandLine()).length);
    }

    /**
     * The first checks alone, on the kernel file: kernel_read_file's (a regular, non-empty file of at most 4 GiB)
     * and bzImage64_probe's. Empty when the file is an x86-64 bzImage this kernel would go on to load.
     */
    public static Optional<Refusal> probe(Path kernel) throws IOException {
        Optional<Refusal> file = readable(kernel, "kernel");
        if (file.isPresent()) {
            return file;
        }
        BzImage image = BzImage.read(kernel);
        return BzImageRules.probe(image.head(), image.length(), BzImageRules.runningKernelUsesFiveLevelPaging());
    }

    /** The command line as kexec_file_load takes it: the bytes and a terminating NUL. */
    static byte[] commandLineBytes(String commandLine) {
        byte[] text = commandLine.getBytes(StandardCharsets.UTF_8);
        byte[] withNul = new byte[text.length + 1];
        System.arraycopy(text, 0, withNul, 0, text.length);
        return withNul;
    }

    /** kernel_read_file's checks on the file itself (fs/kernel_read_file.c). */
    private static Optional<Refusal> readable(Path path, String what) throws IOException {
        if (!Files.exists(path)) {
            return Optional.of(new Refusal(Errno.ENOENT, "", "the " + what + " file " + path + " does not exist"));
        }
        if (!Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS) && !Files.isRegularFile(path)) {
            return Optional.of(new Refusal(Errno.EINVAL, "", "the " + what + " " + path + " is not a regular file"));
        }
        long size = Files.size(path);
        if (size == 0) {
            return Optional.of(new Refusal(Errno.EINVAL, "", "the " + what + " file " + path + " is empty"));
        }
        if (size > FILE_SIZE_MAX) {
            return Optional.of(new Refusal(Errno.EFBIG, "", "the " + what + " file is larger than 4 GiB"));
        }
        return Optional.empty();
    }
}
