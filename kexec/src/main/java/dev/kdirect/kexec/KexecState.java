package dev.kdirect.kexec;

/**
 * The kexec state the kernel shows in sysfs and procfs (kernel/ksysfs.c, kernel/kexec_core.c).
 *
 * @param loaded /sys/kernel/kexec_loaded (or /sys/kernel/kexec/loaded): a kernel waits for reboot(LINUX_REBOOT_CMD_KEXEC)
 * @param crashLoaded /sys/kernel/kexec_crash_loaded: a crash kernel waits for a panic
 * @param crashSize /sys/kernel/kexec_crash_size: bytes reserved with crashkernel= (0: none, crash loads fail)
 * @param loadDisabled /proc/sys/kernel/kexec_load_disabled: once 1, every load fails with EPERM until reboot
 * @param lockdown the active mode of /sys/kernel/security/lockdown ("none", "integrity", "confidentiality"), or
 *     "unknown" where securityfs is not readable; under lockdown only signed images load
 */
public record KexecState(boolean loaded, boolean crashLoaded, long crashSize, boolean loadDisabled,
        String lockdown) {
}
