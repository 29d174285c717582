package dev.kdirect.kexec;

import dev.kdirect.Binding;
import dev.kdirect.Capability;
import dev.kdirect.Credentials;
import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import dev.kdirect.contract.Outcomes;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * The steps of {@link KexecContractTest}'s permission test, on any {@link Kernel}: kexec in a process without
 * CAP_SYS_BOOT. {@link #main} runs them on a real binding in a child JVM that lacks the capability and prints the
 * outcomes (see {@link Outcomes}). Nothing here can reboot: the only reboot command is an unknown one.
 */
public final class KexecPermissionProgram {
    static final long UNKNOWN_FLAG = 8;
    static final int UNKNOWN_REBOOT_COMMAND = 0x12345678;

    private KexecPermissionProgram() {
    }

    /** {@code main(binding id, image path)}: this process's CAP_SYS_BOOT, then the outcomes. */
    public static void main(String[] args) throws Exception {
        System.out.println("CAP_SYS_BOOT " + Credentials.ofCurrentProcess().capable(Capability.SYS_BOOT));
        outcomes(Kernels.of(Binding.parse(args[0])), Path.of(args[1])).print();
    }

    /** A load of a valid image, an unload, and calls whose arguments are wrong too. */
    static Outcomes outcomes(Kernel kernel, Path image) throws Exception {
        Kexec kexec = Kexec.on(kernel);
        return new Outcomes()
                .step("load", () -> kexec.load(LoadRequest.of(image, "")))
                .step("unload", kexec::unload)
                .step("unknown-flag", () -> kernel.kexecFileLoad(-1, -1, MemorySegment.NULL, UNKNOWN_FLAG))
                .step("reboot-unknown-command", () -> kernel.reboot(UNKNOWN_REBOOT_COMMAND))
                .put("loaded", kexec.state().loaded());
    }
}
