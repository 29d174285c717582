package dev.kdirect.backend;

import dev.kdirect.ErrnoNames;

/**
 * What a person can do about a failed syscall, keyed by syscall and errno. Only failures with a clear remedy
 * get a hint; the feature modules add context-specific ones of their own.
 */
final class Hints {
    private Hints() {
    }

    static String forFailure(String syscall, int errno) {
        String name = ErrnoNames.name(errno);
        return switch (syscall + " " + name) {
            case "mmap EOPNOTSUPP" -> "MAP_SYNC needs a file on a DAX file system: mount the fsdax namespace with -o dax";
            case "mmap EACCES" -> "the fd was not opened for the access asked: open it O_RDWR for a shared writable map";
            case "mmap EINVAL", "munmap EINVAL", "mprotect EINVAL", "madvise EINVAL" ->
                "addresses and file offsets must be page aligned, lengths non-zero, flags and advice known to this kernel";
            case "mprotect ENOMEM", "madvise ENOMEM" -> "part of the range is not mapped";
            case "madvise EPERM" -> "memory-failure injection needs CAP_SYS_ADMIN: run with sudo";
            case "madvise EBUSY" -> "HWPOISON of a page never written hits the shared zero page, which the kernel"
                + " refuses (and marks poisoned): write-fault the pages first with MADV_POPULATE_WRITE";
            case "madvise EFAULT" -> "a page of the range is not mapped, not readable, or already poisoned";
            case "madvise EHWPOISON" -> "a page of the range is poisoned (a memory failure): its data is lost; unmap"
                + " it (or MADV_DONTNEED private anonymous memory) and write the data again. From HWPOISON of a page"
                + " never written: that is the shared zero page, poisoned by an earlier injection; write-fault first";
            case "pkey_alloc ENOSPC" -> "all protection keys are allocated (15 on x86-64): free one first";
            case "pkey_alloc ENOSYS" -> "the kernel has no protection keys: it needs CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS";
            case "pkey_free EINVAL" -> "the key is not allocated";
            case "pkey_mprotect EINVAL" ->
                "the address must be page aligned, prot known, and the key allocated by this process (pkey_alloc)";
            case "pkey_get EINVAL", "pkey_set EINVAL" -> "keys are 0..15 and rights 0..3 (DISABLE_ACCESS 1 | DISABLE_WRITE 2)";
            case "pkey_get ENOSYS", "pkey_set ENOSYS" ->
                "this CPU or kernel has no PKU ('ospke' missing in /proc/cpuinfo): use the simulated kernel or a PKU host";
            case "setsockopt EPERM" -> "TCP_REPAIR on or off and SO_SNDBUFFORCE/SO_RCVBUFFORCE need"
                + " CAP_NET_ADMIN (run with sudo); repair mode needs a socket that is not listening; the other"
                + " repair options need repair mode, TCP_QUEUE_SEQ a socket not yet connected, TCP_REPAIR_OPTIONS"
                + " a connection that has sent nothing";
            case "bind EADDRINUSE" -> "another socket holds the port: pick another, or set SO_REUSEADDR on both";
            case "connect ECONNREFUSED" -> "nothing listens on that address and port";
            case "connect EADDRNOTAVAIL" -> "another socket holds the same 4-tuple (e.g. the connection being restored"
                + " is still open), or no ephemeral port is free";
            case "kexec_file_load ENOSYS" -> "the kernel lacks CONFIG_KEXEC_FILE: use a kernel with it, or the QEMU guest (ci/qemu/run)";
            case "kexec_file_load EPERM" ->
                "needs CAP_SYS_BOOT (run with sudo); also fails when kexec_load_disabled is 1 or lockdown forbids it";
            case "kexec_file_load ENOEXEC" -> "the file is not a kernel image this kernel can load (x86-64 bzImage)";
            case "kexec_file_load EKEYREJECTED" -> "the kernel requires a signed image: sign it or disable lockdown";
            case "kexec_file_load ETXTBSY" -> "the image is open for writing (by this or another process): close it first";
            case "kexec_file_load EADDRNOTAVAIL" ->
                "no memory fits the segments; for a crash kernel, reserve memory at boot with crashkernel=256M";
            case "kexec_file_load EBUSY" -> "another kexec load, unload or reboot is in progress: try again";
            case "reboot EINVAL" -> "nothing is loaded for kexec (or the command is unknown): load a kernel first";
            case "msync EINVAL" -> "the address must be page aligned, and MS_SYNC and MS_ASYNC exclude each other";
            case "msync ENOMEM" -> "part of the range is not mapped";
            case "open ENOENT" -> "no such file: check the path";
            case "open EACCES" -> "permission denied: check the file's mode or run with sudo";
            default -> switch (name) {
                case "EBADF" -> "the file descriptor is not open (or not open for this access)";
                case "EPERM" -> "not permitted: run with sudo or grant the capability";
                default -> "";
            };
        };
    }
}
