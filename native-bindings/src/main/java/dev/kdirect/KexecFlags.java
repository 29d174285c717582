package dev.kdirect;

/**
 * Flags of {@code kexec_file_load} (include/uapi/linux/kexec.h, KEXEC_FILE_*): the kernel refuses any other bit with
 * EINVAL (KEXEC_FILE_FLAGS, kernel/kexec_file.c).
 */
public final class KexecFlags {
    /** Unload the loaded kernel (the crash kernel with {@link #ON_CRASH}); the descriptors are not looked at. */
    public static final long UNLOAD = 1;
    /** Load (or unload) the crash kernel, booted on panic, instead of the one {@code reboot(KEXEC)} boots. */
    public static final long ON_CRASH = 2;
    /** No initramfs: the initrd descriptor is not looked at. */
    public static final long NO_INITRAMFS = 4;
    /**
     * KEXEC_FILE_DEBUG: print the load's details to the kernel log; a known flag since Linux 6.8 ("kexec_file: add
     * kexec_file flag to control debug printing"), EINVAL before.
     */
    public static final long DEBUG = 8;

    private KexecFlags() {
    }
}
