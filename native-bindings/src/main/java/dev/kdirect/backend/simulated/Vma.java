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

    @Override
    public String toString() {
        return "Vma[0x" + Long.toHexString(start) + "-0x" + Long.toHexString(end) + " prot=" + prot + " pkey=" + pkey
                + (shared ? " shared" : " private") + (anonymous ? " anon" : " file") + "]";
    }
}
