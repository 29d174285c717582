package dev.kdirect.backend;

import static dev.kdirect.Errno.EACCES;
import static dev.kdirect.Errno.EADDRINUSE;
import static dev.kdirect.Errno.EADDRNOTAVAIL;
import static dev.kdirect.Errno.EBADF;
import static dev.kdirect.Errno.EBUSY;
import static dev.kdirect.Errno.ECONNREFUSED;
import static dev.kdirect.Errno.EFAULT;
import static dev.kdirect.Errno.EHWPOISON;
import static dev.kdirect.Errno.EINVAL;
import static dev.kdirect.Errno.EKEYREJECTED;
import static dev.kdirect.Errno.ENOENT;
import static dev.kdirect.Errno.ENOEXEC;
import static dev.kdirect.Errno.ENOMEM;
import static dev.kdirect.Errno.ENOSPC;
import static dev.kdirect.Errno.ENOSYS;
import static dev.kdirect.Errno.EOPNOTSUPP;
import static dev.kdirect.Errno.EPERM;
import static dev.kdirect.Errno.ETXTBSY;

import dev.kdirect.Errno;
import java.util.HashMap;
import java.util.Map;

/**
 * What a person can do about a failed syscall, keyed by syscall and errno. Only failures with a clear remedy
 * get a hint; the feature modules add context-specific ones of their own.
 */
final class Hints {
    private record Failure(String syscall, Errno errno) {
    }

    private static final Map<Failure, String> BY_CALL = new HashMap<>();
    /** Hints for an errno whatever the call. */
    private static final Map<Errno, String> ANY_CALL = Map.of(
            EBADF, "the file descriptor is not open (or not open for this access)",
            EPERM, "not permitted: run with sudo or grant the capability");

    static {
        on(EOPNOTSUPP, "MAP_SYNC needs a file on a DAX file system: mount the fsdax namespace with -o dax", "mmap");
        on(EACCES, "the fd was not opened for the access asked: open it O_RDWR for a shared writable map", "mmap");
        on(EINVAL, "addresses and file offsets must be page aligned, lengths non-zero, flags and advice known to"
                + " this kernel", "mmap", "munmap", "mprotect", "madvise");
        on(ENOMEM, "part of the range is not mapped", "mprotect", "madvise", "msync");
        on(EPERM, "memory-failure injection needs CAP_SYS_ADMIN: run with sudo", "madvise");
        on(EBUSY, "HWPOISON of a page never written hits the shared zero page, which the kernel refuses (and marks"
                + " poisoned): write-fault the pages first with MADV_POPULATE_WRITE", "madvise");
        on(EFAULT, "a page of the range is not mapped, not readable, or already poisoned", "madvise");
        on(EHWPOISON, "a page of the range is poisoned (a memory failure): its data is lost; unmap it (or"
                + " MADV_DONTNEED private anonymous memory) and write the data again. From HWPOISON of a page never"
                + " written: that is the shared zero page, poisoned by an earlier injection; write-fault first",
                "madvise");
        on(ENOSPC, "all protection keys are allocated (15 on x86-64): free one first", "pkey_alloc");
        on(ENOSYS, "the kernel has no protection keys: it needs CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS",
                "pkey_alloc");
        on(EINVAL, "the key is not allocated", "pkey_free");
        on(EINVAL, "the address must be page aligned, prot known, and the key allocated by this process"
                + " (pkey_alloc)", "pkey_mprotect");
        on(EINVAL, "keys are 0..15 and rights 0..3 (DISABLE_ACCESS 1 | DISABLE_WRITE 2)", "pkey_get", "pkey_set");
        on(ENOSYS, "this CPU or kernel has no PKU ('ospke' missing in /proc/cpuinfo): use the simulated kernel or a"
                + " PKU host", "pkey_get", "pkey_set");
        on(EPERM, "TCP repair needs CAP_NET_ADMIN: run with sudo or through kdirect repair-helper", "setsockopt");
        on(EADDRINUSE, "another socket holds the port: pick another, or set SO_REUSEADDR on both", "bind");
        on(ECONNREFUSED, "nothing listens on that address and port", "connect");
        on(EADDRNOTAVAIL, "another socket holds the same 4-tuple (e.g. the connection being restored is still"
                + " open), or no ephemeral port is free", "connect");
        on(ENOSYS, "the kernel lacks CONFIG_KEXEC_FILE: use a kernel with it, or the QEMU guest (ci/qemu/run)",
                "kexec_file_load");
        on(EPERM, "needs CAP_SYS_BOOT (run with sudo); also fails when kexec_load_disabled is 1 or lockdown"
                + " forbids it", "kexec_file_load");
        on(ENOEXEC, "the file is not a kernel image this kernel can load (x86-64 bzImage)", "kexec_file_load");
        on(EKEYREJECTED, "the kernel requires a signed image: sign it or disable lockdown", "kexec_file_load");
        on(ETXTBSY, "the image is open for writing (by this or another process): close it first", "kexec_file_load");
        on(EADDRNOTAVAIL, "no memory fits the segments; for a crash kernel, reserve memory at boot with"
                + " crashkernel=256M", "kexec_file_load");
        on(EBUSY, "another kexec load, unload or reboot is in progress: try again", "kexec_file_load");
        on(EINVAL, "nothing is loaded for kexec (or the command is unknown): load a kernel first", "reboot");
        on(EINVAL, "the address must be page aligned, and MS_SYNC and MS_ASYNC exclude each other", "msync");
        on(ENOENT, "no such file: check the path", "open");
        on(EACCES, "permission denied: check the file's mode or run with sudo", "open");
    }

    private Hints() {
    }

    static String forFailure(String syscall, int errno) {
        Errno e = Errno.of(errno);
        return BY_CALL.getOrDefault(new Failure(syscall, e), ANY_CALL.getOrDefault(e, ""));
    }

    private static void on(Errno errno, String hint, String... syscalls) {
        for (String syscall : syscalls) {
            if (BY_CALL.put(new Failure(syscall, errno), hint) != null) {
                throw new IllegalStateException("two hints for " + syscall + " " + errno);
            }
        }
    }
}
