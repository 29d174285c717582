package dev.kdirect.backend.simulated;

import dev.kdirect.Prot;

/**
 * One virtual memory area, as the kernel's struct vm_area_struct: a page-aligned range with one protection, one
 * protection key, one sharing mode and one backing. Splitting a range gives two Vmas over the same backing.
 */
final class Vma {
    long start;
    long end;
    int prot;
    int pkey;
    /** VM_GROWSDOWN: mapped with MAP_GROWSDOWN (private anonymous only). */
    boolean growsDown;
    /** VM_LOCKED: mapped with MAP_LOCKED. */
    boolean locked;
    final boolean shared;
    final boolean anonymous;
    /** VM_MAYWRITE: a shared file mapping may become writable only if the file was opened for writing. */
    final boolean mayWrite;
    final OpenFile file;
    long fileOffset;
    final Backing backing;

    Vma(long start, long end, int prot, boolean shared, boolean anonymous, boolean mayWrite, OpenFile file,
            long fileOffset, Backing backing) {
        this.start = start;
        this.end = end;
        this.prot = prot;
        this.shared = shared;
        this.anonymous = anonymous;
        this.mayWrite = mayWrite;
        this.file = file;
        this.fileOffset = fileOffset;
        this.backing = backing;
    }

    /** Splits at {@code address} (inside this area): this keeps the lower part, the result is the upper part. */
    Vma splitAt(long address) {
        Vma upper = new Vma(address, end, prot, shared, anonymous, mayWrite, file,
                fileOffset + (address - start), backing);
        upper.pkey = pkey;
        upper.growsDown = growsDown;
        upper.locked = locked;
        end = address;
        return upper;
    }

    long length() {
        return end - start;
    }

    boolean readable() {
        return (prot & Prot.READ) != 0;
    }

    boolean writable() {
        return (prot & Prot.WRITE) != 0;
    }

    /** vma_is_accessible (include/linux/mm.h): any of read, write or execute; x86 pages so mapped are readable. */
    boolean accessible() {
        return (prot & (Prot.READ | Prot.WRITE | Prot.EXEC)) != 0;
    }

    /** The area is PROT_EXEC only (vma_is_pkey_exec_only's flags test). */
    boolean executeOnly() {
        return (prot & (Prot.READ | Prot.WRITE | Prot.EXEC)) == Prot.EXEC;
    }

    @Override
    public String toString() {
        return "Vma[0x" + Long.toHexString(start) + "-0x" + Long.toHexString(end) + " prot=" + prot + " pkey=" + pkey
                + (shared ? " shared" : " private") + (anonymous ? " anon" : " file") + "]";
    }
}
