package dev.kdirect;

import java.util.Locale;

/** The Linux capabilities kdirect's features need (include/uapi/linux/capability.h). */
public enum Capability {
    /** TCP_REPAIR on and off. */
    NET_ADMIN(12),
    /** mlock beyond the limit. */
    IPC_LOCK(14),
    /** MADV_HWPOISON, MADV_SOFT_OFFLINE, /proc/self/pagemap PFNs. */
    SYS_ADMIN(21),
    /** kexec_file_load and reboot. */
    SYS_BOOT(22);

    private final int number;

    Capability(int number) {
        this.number = number;
    }

    /** The capability number, the bit index in the effective set. */
    public int number() {
        return number;
    }

    /** The name as the kernel's documentation spells it, e.g. {@code CAP_NET_ADMIN}. */
    public String kernelName() {
        return "CAP_" + name().toUpperCase(Locale.ROOT);
    }

    /** True when this capability's bit is set in an effective capability mask. */
    public boolean in(long effectiveMask) {
        return (effectiveMask & (1L << number)) != 0;
    }
}
