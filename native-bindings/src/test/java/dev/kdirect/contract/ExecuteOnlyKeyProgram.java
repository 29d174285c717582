package dev.kdirect.contract;

import dev.kdirect.Binding;
import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import dev.kdirect.MapFlags;
import dev.kdirect.OpenFlags;
import dev.kdirect.Prot;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The execute-only protection key (arch/x86/mm/pkeys.c), from a process that never took it: the steps of
 * {@link ExecuteOnlyKeyContractTest}, which {@link #main} runs on a real binding in a fresh child JVM (a process
 * keeps that key for good once taken) and prints (see {@link Outcomes}).
 */
public final class ExecuteOnlyKeyProgram {
    private static final int ANON_PRIVATE = MapFlags.PRIVATE | MapFlags.ANONYMOUS;

    private ExecuteOnlyKeyProgram() {
    }

    /** {@code main(binding id)}. */
    public static void main(String[] args) throws Exception {
        outcomes(Kernels.of(Binding.parse(args[0]))).print();
    }

    static Outcomes outcomes(Kernel k) throws Exception {
        long page = k.pageSize();
        Outcomes out = new Outcomes();
        int lowest = k.pkeyAlloc(0, 0);
        k.pkeyFree(lowest);
        out.put("lowest-free-key", lowest);
        // do_mmap: exactly PROT_EXEC takes the lowest free key for execute-only memory, and denies this thread access
        MemorySegment exec = k.mmap(MemorySegment.NULL, page, Prot.EXEC, ANON_PRIVATE, -1, 0);
        out.put("rights-after-exec-only-mmap", k.pkeyGet(lowest));
        int next = k.pkeyAlloc(0, 0);
        out.put("next-key", next);
        // mm_pkey_is_allocated: the execute-only key is no key pkey_free or pkey_mprotect may name
        out.step("free-the-execute-only-key", () -> k.pkeyFree(lowest));
        out.step("pkey-mprotect-with-it", () -> k.pkeyMprotect(exec, page, Prot.READ, lowest));
        // an exec-only mprotect denies the calling thread access again; the copy from the area faults on the key
        MemorySegment rw = k.mmap(MemorySegment.NULL, page, Prot.READ_WRITE, ANON_PRIVATE, -1, 0);
        Path file = Files.createTempFile("execute-only", ".bin");
        int fd = k.open(file.toString(), OpenFlags.RDWR | OpenFlags.CLOEXEC, 0);
        try {
            k.pkeySet(lowest, 0);
            out.step("mprotect-exec-only", () -> k.mprotect(rw, page, Prot.EXEC));
            out.put("rights-after-exec-only-mprotect", k.pkeyGet(lowest));
            out.step("copy-from-exec-only", () -> k.pwrite(fd, rw, 0));
            // PROT_EXEC with PROT_SEM is not exactly PROT_EXEC: arch_override_mprotect_pkey moves the execute-only area
            // back to key 0, and x86 page tables let the kernel read an executable page
            out.step("mprotect-exec-sem", () -> k.mprotect(rw, page, Prot.EXEC | Prot.SEM));
            out.step("copy-after-exec-sem", () -> k.pwrite(fd, rw, 0));
            out.step("mprotect-exec-only-again", () -> k.mprotect(rw, page, Prot.EXEC));
            out.step("copy-faults-again", () -> k.pwrite(fd, rw, 0));
            // made readable, the area goes back to key 0
            out.step("mprotect-read-exec", () -> k.mprotect(rw, page, Prot.READ | Prot.EXEC));
            out.step("copy-from-key-0", () -> k.pwrite(fd, rw, 0));
        } finally {
            k.close(fd);
            Files.delete(file);
            k.munmap(rw, page);
            k.munmap(exec, page);
            k.pkeyFree(next);
        }
        return out;
    }
}
