package dev.kdirect.kexec;

/** The explicit consent {@link Kexec#reboot} needs: rebooting ends every process on the machine. */
public enum RebootConfirmation {
    /** Sync the file systems and boot the loaded kernel now. */
    REBOOT_NOW
}
