package dev.kdirect.kexec;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * What to load with kexec_file_load: a bzImage, an optional initrd, the command line (without the NUL, which
 * kdirect adds) and whether it is the crash kernel (KEXEC_FILE_ON_CRASH), booted on panic instead of by reboot.
 */
public record LoadRequest(Path kernel, Optional<Path> initrd, String commandLine, boolean crash) {
    public LoadRequest {
        Objects.requireNonNull(kernel, "kernel");
        Objects.requireNonNull(initrd, "initrd");
        Objects.requireNonNull(commandLine, "commandLine");
    }

    /** A kernel to reboot into, with no initrd. */
    public static LoadRequest of(Path kernel, String commandLine) {
        return new LoadRequest(kernel, Optional.empty(), commandLine, false);
    }

    /** The same request with an initrd. */
    public LoadRequest withInitrd(Path initrd) {
        return new LoadRequest(kernel, Optional.of(initrd), commandLine, crash);
    }

    /** The same request as a crash kernel. */
    public LoadRequest asCrashKernel() {
        return new LoadRequest(kernel, initrd, commandLine, true);
    }
}
