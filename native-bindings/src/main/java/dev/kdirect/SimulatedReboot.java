package dev.kdirect;

/**
 * The simulated kernel executed reboot(LINUX_REBOOT_CMD_KEXEC): on a real machine the call never returns and
 * the loaded kernel boots; the model ends the call with this record of the boot instead. When a loaded segment
 * changed after kexec_file_load, purgatory's SHA-256 check fails and the real machine hangs silently: the record
 * then says {@link #hung()}.
 */
public final class SimulatedReboot extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String kernelVersion;
    private final String commandLine;
    private final String initrdSha256;
    private final boolean hung;

    /**
     * @param kernelVersion the booted image's version string ("" when its header has none)
     * @param commandLine the command line it booted with, without the NUL
     * @param initrdSha256 hex SHA-256 of the initrd, "" without one
     * @param hung true when purgatory found a segment changed since load
     */
    public SimulatedReboot(String kernelVersion, String commandLine, String initrdSha256, boolean hung) {
        super(hung ? "simulated kexec reboot: purgatory found a loaded segment changed since kexec_file_load and"
                + " hangs (a real machine stops here without a message)"
                : "simulated kexec reboot into " + kernelVersion + " with command line \"" + commandLine + "\"");
        this.kernelVersion = kernelVersion;
        this.commandLine = commandLine;
        this.initrdSha256 = initrdSha256;
        this.hung = hung;
    }

    public String kernelVersion() {
        return kernelVersion;
    }

    public String commandLine() {
        return commandLine;
    }

    public String initrdSha256() {
        return initrdSha256;
    }

    /** True when the machine would hang in purgatory instead of booting. */
    public boolean hung() {
        return hung;
    }
}
