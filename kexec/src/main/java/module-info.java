/**
 * kdirect kexec: read and validate an x86-64 bzImage with the kernel's own checks, load it (or a crash kernel)
 * with kexec_file_load(2), read the kexec state, and reboot into the loaded kernel, on the real kernel or the
 * simulated one.
 */
module dev.kdirect.kexec {
    requires transitive dev.kdirect;

    exports dev.kdirect.kexec;
}
