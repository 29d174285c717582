package dev.kdirect.backend.simulated;

import dev.kdirect.Advice;
import dev.kdirect.Errno;
import dev.kdirect.Prot;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The simulated process's memory map (the kernel's mm_struct): page-aligned {@link Vma}s over real memory, with
 * the walk orders of mm/mprotect.c and mm/madvise.c, so partial effects before an error match the kernel's.
 * Every method runs under the one lock, like mmap_lock held for writing.
 */
final class AddressSpace {
    private final long pageSize;
    private final WriteBacks writeBacks;
    private final TreeMap<Long, Vma> vmas = new TreeMap<>();
    private final Set<Long> poisonedPages = new HashSet<>();
    private final Set<Long> populatedPages = new HashSet<>();
    /** The memory behind every mapping, by base, while the model holds it (see {@link #unmap}). */
    private final TreeMap<Long, Backing> held = new TreeMap<>();
    /** Anonymous memory no longer mapped but kept, oldest first, so its addresses stay the model's for a while. */
    private final java.util.ArrayDeque<Backing> kept = new java.util.ArrayDeque<>();
    private long keptBytes;
    private static final long KEPT_BYTES_MAX = 64L << 20;
    /** The shared zero page is one frame of the machine: once poisoned, it stays so (one machine per model). */
    private boolean zeroPagePoisoned;

    AddressSpace(long pageSize, WriteBacks writeBacks) {
        this.pageSize = pageSize;
        this.writeBacks = writeBacks;
    }

    /**
     * Creates a new mapping anywhere (the checks of do_mmap have passed) of {@code length} bytes, a whole number
     * of pages. Returns the address.
     */
    synchronized long map(long length, int prot, boolean shared, OpenFile file, long offset, boolean populate)
            throws IOException {
        return map(length, prot, shared, file, offset, populate, 0, false, false);
    }

    /**
     * {@link #map} with the area's key (the execute-only key for a PROT_EXEC-only mmap), VM_GROWSDOWN and VM_LOCKED.
     */
    synchronized long map(long length, int prot, boolean shared, OpenFile file, long offset, boolean populate,
            int pkey, boolean growsDown, boolean locked) throws IOException {
        List<Backing> collided = new ArrayList<>();
        try {
            for (int attempt = 0; attempt < 8; attempt++) {
                Backing backing = backing(length, shared, file, offset);
                long start = backing.base();
                if (firstAreaIn(start, start + length) != null) {
                    // the JVM placed this memory in the pages past the end of a file that another mapping reaches
                    // (the model keeps no memory there): keep it until a place is found, so it is not given again
                    collided.add(backing);
                    continue;
                }
                // calc_vm_prot_bits keeps read, write and execute; mmap ignores every other bit of prot
                Vma vma = new Vma(start, start + length, prot & (Prot.READ | Prot.WRITE | Prot.EXEC), shared,
                        file == null, file == null || file.canWrite(), file, offset, backing);
                vma.pkey = pkey;
                vma.growsDown = growsDown;
                vma.locked = locked;
                if (!vmas.subMap(start, start + length).isEmpty()) {
                    throw new IllegalStateException("overlapping areas at 0x" + Long.toHexString(start));
                }
                vmas.put(start, vma);
                held.put(start, backing);
                if (populate && (file != null || shared || (prot & Prot.WRITE) != 0)) {
                    // populate_vma_page_range (mm/gup.c, 6.1 and 6.18): a write fault only where the mapping is
                    // private and writable; a read of private anonymous memory maps the shared zero page, and a
                    // PROT_NONE mapping is not populated at all
                    if (prot != Prot.NONE) {
                        markPopulated(start, start + length);
                    }
                }
                return start;
            }
            throw new UnsupportedOperationException("the simulated kernel found no free place for a mapping of "
                    + length + " bytes outside the pages past the end of files other mappings reach");
        } finally {
            collided.forEach(Backing::discard);
        }
    }

    /** Memory for a new mapping: anonymous pages, the file's pages, or a private copy of them. */
    private Backing backing(long length, boolean shared, OpenFile file, long offset) throws IOException {
        Arena arena = Arena.ofShared();
        try {
            if (file == null) {
                return new Backing(arena, arena.allocate(length, pageSize), length); // zero-filled, as fresh pages
            }
            long fileBytes = Math.max(0, file.size() - offset);
            // Pages wholly past the end of the file are mapped (do_mmap does not look at i_size), but an access to
            // one is SIGBUS (filemap_fault, dax_iomap_pte_fault: index >= DIV_ROUND_UP(i_size, PAGE_SIZE)). The
            // model keeps their addresses only: see Backing.backedEnd and userAccessible.
            long backed = Math.min(length, (fileBytes + pageSize - 1) & -pageSize);
            if (backed == 0) {
                // nothing of the file is mapped: anonymous memory holds the addresses, never accessed as the file
                return new Backing(arena, arena.allocate(length, pageSize), length, 0);
            }
            long mapped = Math.min(length, fileBytes);
            if (!shared && !file.canWrite()) {
                // MAP_PRIVATE needs only read access (do_mmap): stores copy the page and never reach the file, pages
                // not written show the file's later changes. NIO maps PRIVATE only through a writable channel: the
                // model opens one where this process may and the name still holds the file, else it copies the
                // file's bytes at mmap (the rest of the last page reads zeros; see hasPrivateCopy).
                FileChannel writable = file.pathStillNamesIt() ? openForWriting(file) : null;
                if (writable == null) {
                    MemorySegment copy = arena.allocate(length, pageSize);
                    read(file.channel, copy.asSlice(0, mapped), offset);
                    return new Backing(arena, copy, length, length).asCopy();
                }
                try (writable) {
                    return new Backing(arena, writable.map(FileChannel.MapMode.PRIVATE, offset, mapped, arena),
                            length, backed);
                }
            }
            FileChannel.MapMode mode = !shared ? FileChannel.MapMode.PRIVATE
                    : file.canWrite() ? FileChannel.MapMode.READ_WRITE : FileChannel.MapMode.READ_ONLY;
            return new Backing(arena, file.channel.map(mode, offset, mapped, arena), length, backed);
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** A second, writable channel to a file opened read-only, for a private mapping; null where it cannot be had. */
    private static FileChannel openForWriting(OpenFile file) {
        try {
            FileChannel channel = FileChannel.open(file.path, java.nio.file.StandardOpenOption.READ,
                    java.nio.file.StandardOpenOption.WRITE);
            if (!file.pathStillNamesIt()) {
                channel.close();
                return null;
            }
            return channel;
        } catch (IOException | SecurityException e) {
            return null;
        }
    }

    /** munmap of [start, end): pages not mapped are skipped (mm/vma.c do_vmi_munmap). */
    synchronized void unmap(long start, long end) {
        for (Vma vma : splitRange(start, end)) {
            vmas.remove(vma.start);
            if (vma.backing.unmapped(vma.length())) {
                release(vma.backing, vma.anonymous);
            }
            forEachPage(vma.start, vma.end, page -> {
                poisonedPages.remove(page);
                populatedPages.remove(page);
            });
        }
    }

    /**
     * Frees memory no page of which is mapped any more. Anonymous memory is kept a while first (up to
     * {@value #KEPT_BYTES_MAX} bytes, the oldest freed first): while the model holds it, no other memory of the JVM
     * can be there, so a syscall given an address in it meets no mapping, as on the kernel (EFAULT), where memory
     * handed back could hold anything of the JVM's by then.
     */
    private void release(Backing backing, boolean anonymous) {
        if (!anonymous) {
            held.remove(backing.base());
            backing.discard();
            return;
        }
        kept.addLast(backing);
        keptBytes += backing.length();
        while (keptBytes > KEPT_BYTES_MAX) {
            Backing oldest = kept.removeFirst();
            keptBytes -= oldest.length();
            held.remove(oldest.base());
            oldest.discard();
        }
    }

    /** Whether {@code page} is memory the model holds but has no mapping at: unmapped, as the kernel sees it. */
    private boolean heldButUnmapped(long page) {
        Map.Entry<Long, Backing> below = held.floorEntry(page);
        return below != null && page < below.getValue().backedEnd(); // pages past a file's end have no memory
    }

    /**
     * The VMA walk of do_mprotect_pkey (mm/mprotect.c): the first area must contain {@code start}; areas are
     * changed one by one, so a hole or an EACCES stops the walk with the earlier areas already changed.
     *
     * @param pkey the new key, or -1 to keep each area's key (plain mprotect)
     * @param executeOnly the caller's prot was exactly PROT_EXEC (no PROT_SEM either)
     */
    synchronized int protect(long start, long end, int prot, int pkey, boolean executeOnly, ProtectionKeys keys) {
        Vma vma = firstEndingAfter(start);
        if (vma == null || vma.start > start) {
            return -Errno.ENOMEM.value();
        }
        long next = start;
        while (true) {
            if ((prot & Prot.WRITE) != 0 && vma.shared && !vma.mayWrite) {
                return -Errno.EACCES.value(); // VM_WRITE without VM_MAYWRITE: shared map of a read-only file
            }
            int newKey = newKey(vma, pkey, executeOnly, keys);
            long until = Math.min(vma.end, end);
            for (Vma part : splitRange(next, until)) {
                part.prot = prot;
                part.pkey = newKey;
            }
            next = until;
            if (next >= end) {
                return 0;
            }
            vma = vmas.get(next);
            if (vma == null) {
                return -Errno.ENOMEM.value();
            }
        }
    }

    /**
     * arch_override_mprotect_pkey (arch/x86/mm/pkeys.c, 6.1 as 6.12), once per area of the walk: pkey_mprotect's key
     * stands; a plain mprotect to exactly PROT_EXEC takes the execute-only key (the area keeps its key when none is
     * free); an execute-only area that is made anything else goes back to key 0; else the area keeps its key.
     */
    private static int newKey(Vma vma, int pkey, boolean executeOnly, ProtectionKeys keys) {
        if (pkey != -1) {
            return pkey;
        }
        if (executeOnly) {
            int key = keys.executeOnlyKey();
            return key > 0 ? key : vma.pkey;
        }
        if (vma.executeOnly() && keys.isExecuteOnlyKey(vma.pkey)) {
            return 0;
        }
        return vma.pkey;
    }

    /** madvise's walk (madvise_walk_vmas, mm/madvise.c): an area the advice does not apply to stops it. */
    synchronized int advise(long start, long end, int advice, int pkru) {
        if (advice == Advice.POPULATE_READ || advice == Advice.POPULATE_WRITE) {
            refusePopulateFailingAfterAHole(start, end, advice == Advice.POPULATE_WRITE, pkru);
        }
        return walkMappedParts(start, end, (vma, from, to) -> adviseArea(vma, from, to, advice, pkru));
    }

    /**
     * MADV_POPULATE_READ/WRITE over a hole followed by an area that fails: 6.1 populates each area of
     * madvise_walk_vmas (mm/madvise.c) and returns that area's error (the hole's ENOMEM only at the end); 6.12 and
     * later fault the range in one pass (madvise_populate, faultin_page_range) and stop at the hole with ENOMEM.
     * The simulated kernel follows no one version there.
     */
    private void refusePopulateFailingAfterAHole(long start, long end, boolean write, int pkru) {
        long next = start;
        boolean hole = false;
        for (Vma vma = firstEndingAfter(start); vma != null && vma.start < end; vma = firstEndingAfter(vma.end)) {
            hole |= vma.start > next;
            boolean fails = !allows(vma, write, pkru);
            for (long page = Math.max(vma.start, start); page < Math.min(vma.end, end); page += pageSize) {
                fails |= poisonedPages.contains(page);
            }
            if (hole && fails) {
                throw new UnsupportedOperationException("MADV_POPULATE over a hole and then an area it fails on:"
                        + " Linux 6.1 answers that area's error, 6.12 and later ENOMEM for the hole (madvise_populate)");
            }
            next = vma.end;
        }
    }

    /**
     * The walk both madvise and msync make (mm/madvise.c, mm/msync.c): holes are remembered and reported as
     * ENOMEM after the mapped parts were handled; an action's error stops the walk at once.
     */
    private int walkMappedParts(long start, long end, AreaAction action) {
        int unmappedError = 0;
        long next = start;
        Vma vma = firstEndingAfter(next);
        while (true) {
            if (vma == null) {
                return -Errno.ENOMEM.value();
            }
            if (next < vma.start) {
                unmappedError = -Errno.ENOMEM.value();
                next = vma.start;
                if (next >= end) {
                    break;
                }
            }
            long until = Math.min(vma.end, end);
            int error = action.apply(vma, next, until);
            if (error != 0) {
                return error;
            }
            next = until;
            if (next >= end) {
                break;
            }
            vma = firstEndingAfter(next);
        }
        return unmappedError;
    }

    @FunctionalInterface
    private interface AreaAction {
        /** Handles [from, to) of {@code vma}; 0 or -errno. */
        int apply(Vma vma, long from, long to);
    }

    /**
     * madvise_inject_error (mm/madvise.c) after the CAP_SYS_ADMIN check, page by page from {@code start} up to
     * {@code end} (the unrounded length, as the kernel loops): get_user_pages_fast for reading must find the page,
     * then memory_failure() or soft_offline_page() acts on it. Verified in the guest (Debian 6.1):
     * <ul>
     * <li>not mapped, or not readable (PROT_NONE, or a protection key that denies access): EFAULT;
     * <li>already poisoned: EFAULT (the hwpoison entry fails the lookup: VM_FAULT_HWPOISON without FOLL_HWPOISON);
     * <li>private anonymous memory never written maps the shared zero page: memory_failure() marks that page
     *     poisoned (for the whole machine), ignores it as a reserved kernel page and returns EBUSY; from then on
     *     it answers EHWPOISON ("already hardware poisoned"). SOFT_OFFLINE of the poisoned zero page returns 0,
     *     of a clean one EIO;
     * <li>shared anonymous memory: the lookup allocates a shmem page, so even an untouched page can be poisoned.
     * </ul>
     * HWPOISON unmaps the page: the next access gets SIGBUS (BUS_MCEERR_AR), and {@link #isPoisoned} says so.
     * SOFT_OFFLINE migrates the data to another frame and retires the old one: the process keeps its data. File
     * mappings are not modelled: what a poisoned page-cache page does depends on the file system and on whether
     * the page is dirty.
     */
    synchronized int injectError(long start, long end, int advice, int pkru) {
        for (long page = start; page < end; page += pageSize) {
            Vma vma = areaAt(page);
            if (vma == null || !allows(vma, false, pkru) || poisonedPages.contains(page)) {
                return -Errno.EFAULT.value();
            }
            if (!vma.anonymous) {
                throw new UnsupportedOperationException("the simulated kernel does not model memory failures of"
                        + " file pages (" + vma.file.path + "): what they do depends on the file system and on"
                        + " whether the page is dirty; inject into anonymous memory");
            }
            if (!backedByRealPage(vma, page)) {
                if (advice == Advice.HWPOISON) {
                    if (!zeroPagePoisoned) {
                        zeroPagePoisoned = true;
                        return -Errno.EBUSY.value(); // "recovery action for reserved kernel page: Ignored"
                    }
                    return -Errno.EHWPOISON.value(); // "already hardware poisoned"
                }
                if (!zeroPagePoisoned) {
                    // soft_offline_page -> get_hwpoison_page -> get_any_page (mm/memory-failure.c, 6.1 and 6.12): the
                    // zero page is neither on the LRU nor a free buddy page (HWPoisonHandlable), so after three
                    // passes -EIO, nothing marked (observed in the guest on 6.12)
                    return -Errno.EIO.value();
                }
                continue; // soft_offline_page: "page already poisoned", 0
            }
            if (advice == Advice.HWPOISON) {
                poisonedPages.add(page);
            }
        }
        return 0;
    }

    /**
     * Damage: an uncorrectable memory error in the frame behind {@code address}'s page, handled as
     * memory_failure() handles a page {@link #injectError} poisons: the page is unmapped and its next access
     * faults. Only a page of anonymous memory that was written has a frame of its own in the model.
     *
     * @throws IllegalArgumentException when nothing is mapped there
     * @throws UnsupportedOperationException for a file page or a page never written (see {@link #injectError})
     */
    synchronized void hardwareError(long address) {
        long page = address & -pageSize;
        Vma vma = areaAt(page);
        if (vma == null) {
            throw new IllegalArgumentException("nothing is mapped at 0x" + Long.toHexString(page));
        }
        if (!vma.anonymous || !backedByRealPage(vma, page)) {
            throw new UnsupportedOperationException("the simulated machine damages frames of anonymous memory that"
                    + " was written: 0x" + Long.toHexString(page) + " is " + (vma.anonymous ? "never written" : "a file"
                    + " page"));
        }
        poisonedPages.add(page);
    }

    /** The machine's zero page was poisoned before this process: injections into it answer EHWPOISON. */
    synchronized void poisonZeroPage() {
        zeroPagePoisoned = true;
    }

    /**
     * How many bytes from {@code address} the kernel can copy to ({@code kernelWrites}) or from user memory for
     * the calling thread: up to the first page whose protection, or whose key under the thread's {@code pkru},
     * forbids it, or that is poisoned. copy_to_user and copy_from_user fault there like the thread's own access
     * would (arch/x86/mm/fault.c access_error and the pkey check of arch_vma_access_permitted); on a poisoned page
     * the kernel-mode fault is fixed up without a signal (verified in the guest: pread into, and pwrite from, a
     * poisoned page fail with EFAULT, or stop short before it). Memory the model holds but no longer maps (pages
     * unmapped from a mapping, or a whole anonymous mapping unmapped lately: {@link #release}) stops it too, as a
     * hole does; other memory outside every simulated mapping (Java heap and arena buffers, which the model does
     * not manage) counts as accessible.
     */
    synchronized long userAccessible(long address, long length, boolean kernelWrites, int pkru) {
        for (long page = address & -pageSize; Long.compareUnsigned(page, address + length) < 0; page += pageSize) {
            Vma vma = areaAt(page);
            if (vma == null && heldButUnmapped(page) && firstEndingAfter(page) instanceof Vma above
                    && above.growsDown) {
                throw new UnsupportedOperationException("a copy to or from a hole right below a MAP_GROWSDOWN area:"
                        + " the kernel's fault grows the stack area down into it (expand_stack) where the guard gap"
                        + " allows, which the simulated kernel does not model");
            }
            if (vma == null ? heldButUnmapped(page)
                    : !copyAllows(vma, kernelWrites, pkru) || poisonedPages.contains(page)) {
                return Math.max(0, page - address);
            }
            if (vma != null && page >= vma.backing.backedEnd()) {
                // the kernel's copy faults there (VM_FAULT_SIGBUS, fixed up in kernel mode): how much of the call
                // is done before it depends on the file system's copy loop (filemap_read, dax_iomap_rw)
                throw new UnsupportedOperationException("the simulated kernel does not decide a syscall's copy to or"
                        + " from a mapped page past the end of " + vma.file.path + " (SIGBUS on access)");
            }
        }
        return length;
    }

    /**
     * Whether copy_to_user ({@code write}) or copy_from_user may touch a page of {@code vma}: the thread's PKRU must
     * allow the key (arch_vma_access_permitted); a write needs VM_WRITE; a read faults in any page of an area with
     * read, write or execute (access_error, arch/x86/mm/fault.c: "read, not present" checks vma_is_accessible), and
     * x86 page tables make every such present page readable.
     */
    private static boolean copyAllows(Vma vma, boolean write, int pkru) {
        int rights = (pkru >>> (2 * vma.pkey)) & ProtectionKeys.ACCESS_MASK;
        boolean pkeyAllows = (rights & ProtectionKeys.DISABLE_ACCESS) == 0
                && !(write && (rights & ProtectionKeys.DISABLE_WRITE) != 0);
        return pkeyAllows && (write ? vma.writable() : vma.accessible());
    }

    private static boolean allows(Vma vma, boolean write, int pkru) {
        int rights = (pkru >>> (2 * vma.pkey)) & ProtectionKeys.ACCESS_MASK;
        boolean pkeyAllows = (rights & ProtectionKeys.DISABLE_ACCESS) == 0
                && !(write && (rights & ProtectionKeys.DISABLE_WRITE) != 0);
        return pkeyAllows && (write ? vma.writable() : vma.readable());
    }

    /**
     * msync's walk: with {@code wait} (MS_SYNC) shared file mappings are written back to their file and are then
     * durable (vfs_fsync_range); MS_ASYNC starts nothing (a no-op since 2.6.19).
     */
    synchronized int sync(long start, long end, boolean wait) {
        return walkMappedParts(start, end, (vma, from, to) -> {
            MemorySegment pages = vma.backing.slice(from, to - from);
            if (wait && vma.shared && vma.file != null && pages.byteSize() > 0) {
                pages.force();
                writeBacks.synced(from, to);
            }
            return 0;
        });
    }

    /**
     * Whether a private mapping of {@code file} is a copy the model took at mmap ({@link #map}): on the kernel its
     * pages not yet written still show later changes to the file, which a copy cannot follow.
     */
    synchronized boolean hasPrivateCopy(OpenFile file) {
        for (Vma vma : vmas.values()) {
            if (!vma.shared && vma.file != null && !vma.file.canWrite() && vma.backing.isCopy()
                    && sameFile(vma.file, file)) {
                return true;
            }
        }
        return false;
    }

    /**
     * Whether a mapping of {@code file} reaches pages past the memory the model has behind it (pages that were past
     * the end of the file at mmap) that a file of {@code newSize} bytes would make accessible: the kernel would show
     * the file's data there, the model has none.
     */
    synchronized boolean growsIntoPagesWithoutMemory(OpenFile file, long newSize) {
        for (Vma vma : vmas.values()) {
            long backedEnd = vma.backing.backedEnd();
            if (vma.file != null && vma.end > backedEnd && sameFile(vma.file, file)
                    && newSize > vma.fileOffset + (Math.max(vma.start, backedEnd) - vma.start)) {
                return true;
            }
        }
        return false;
    }

    private static boolean sameFile(OpenFile a, OpenFile b) {
        try {
            return Files.isSameFile(a.path, b.path);
        } catch (IOException e) {
            return a.path.equals(b.path); // one of them is gone: only the same name can be the same file
        }
    }

    synchronized boolean isPoisoned(long address) {
        return poisonedPages.contains(address & -pageSize);
    }

    /** The first area that overlaps {@code [start, end)} (vma_find), or null. */
    synchronized Vma firstAreaIn(long start, long end) {
        Vma vma = firstEndingAfter(start);
        return vma != null && vma.start < end ? vma : null;
    }

    /** The area containing {@code address}, or null. */
    synchronized Vma areaAt(long address) {
        Vma vma = firstEndingAfter(address);
        return vma != null && vma.start <= address ? vma : null;
    }

    /** The mapped pages of {@code [start, end)} have frames of their own (other memory is not the model's). */
    synchronized void markPopulated(long start, long end) {
        forEachPage(start, end, page -> {
            if (areaAt(page) != null) {
                populatedPages.add(page);
            }
        });
    }

    private int adviseArea(Vma vma, long start, long end, int advice, int pkru) {
        switch (advice) {
            case Advice.DONTNEED, Advice.DONTNEED_LOCKED -> {
                if (vma.locked && advice == Advice.DONTNEED) {
                    return -Errno.EINVAL.value(); // madvise_dontneed_free_valid_vma (mm/madvise.c, 6.1 as 6.12)
                }
                dropPages(vma, start, end);
            }
            case Advice.FREE -> {
                if (vma.locked) {
                    return -Errno.EINVAL.value(); // madvise_dontneed_free_valid_vma
                }
                if (!vma.anonymous || vma.shared) {
                    return -Errno.EINVAL.value(); // only private anonymous memory can be freed lazily
                }
            }
            case Advice.COLD, Advice.PAGEOUT -> {
                if (vma.locked) {
                    return -Errno.EINVAL.value(); // can_madv_lru_vma (mm/madvise.c, 6.1 as 6.12)
                }
            }
            case Advice.COLLAPSE -> throw new UnsupportedOperationException("MADV_COLLAPSE: the kernel's answer"
                    + " depends on the extent of the area after merges with neighbouring mappings, which the simulated"
                    + " kernel does not make (hugepage_vma_check, transhuge_vma_suitable, mm/khugepaged.c)");
            case Advice.REMOVE -> {
                if (vma.locked) {
                    return -Errno.EINVAL.value(); // madvise_remove (mm/madvise.c, 6.1 as 6.12) checks VM_LOCKED first
                }
                if (vma.anonymous && !vma.shared) {
                    return -Errno.EINVAL.value(); // no file (not even shmem) to punch a hole in
                }
                if (!vma.shared || !vma.mayWrite) {
                    return -Errno.EACCES.value();
                }
                vma.backing.pages(start, end - start).fill((byte) 0);
            }
            case Advice.WIPEONFORK -> {
                if (!vma.anonymous || vma.shared) {
                    return -Errno.EINVAL.value();
                }
            }
            case Advice.POPULATE_READ, Advice.POPULATE_WRITE -> {
                boolean write = advice == Advice.POPULATE_WRITE;
                if (!allows(vma, write, pkru)) {
                    // faultin_vma_page_range / faultin_page_range (mm/gup.c, 6.1 and 6.18): check_vma_flags fails
                    // on VM_READ or VM_WRITE missing (verified in the guest and on the host) and, through
                    // arch_vma_access_permitted, on the area's key that the calling thread's PKRU forbids
                    return -Errno.EINVAL.value();
                }
                for (long page = start; page < end; page += pageSize) {
                    if (poisonedPages.contains(page)) {
                        return -Errno.EHWPOISON.value(); // FOLL_HWPOISON; the pages before stay populated
                    }
                    if (write || !vma.anonymous || vma.shared) {
                        populatedPages.add(page); // a read of private anonymous memory maps the zero page
                    }
                }
            }
            default -> {
                // NORMAL, RANDOM, SEQUENTIAL, WILLNEED, DONTFORK, DOFORK, ...: hints with no visible effect here
            }
        }
        return 0;
    }

    /**
     * MADV_DONTNEED: private pages are dropped; anonymous ones read back as zeros, file ones as the file. A
     * poisoned private page goes too (zap_pte_range clears the hwpoison entry; verified in the guest): the address
     * works again, as a fresh page. A poisoned shmem page stays poisoned.
     */
    private void dropPages(Vma vma, long start, long end) {
        if (vma.shared) {
            return; // the data lives on in the page cache or shmem
        }
        forEachPage(start, end, poisonedPages::remove);
        MemorySegment pages = vma.backing.pages(start, end - start);
        if (vma.anonymous) {
            pages.fill((byte) 0);
        } else {
            try {
                pages.fill((byte) 0);
                read(vma.file.channel, pages, vma.fileOffset + (start - vma.start));
            } catch (IOException e) {
                // the kernel's MADV_DONTNEED reads nothing: the next access faults the page in from the file, and an
                // I/O error there is a SIGBUS (filemap_fault: VM_FAULT_SIGBUS), which the model cannot raise
                throw new UnsupportedOperationException("re-reading " + vma.file.path + " after MADV_DONTNEED failed ("
                        + e.getMessage() + "): on the kernel the next access to these pages raises SIGBUS, which the"
                        + " simulated kernel does not model", e);
            }
        }
        forEachPage(start, end, populatedPages::remove);
    }

    /** Reads the file into {@code into} from {@code position} up to its end, in chunks a ByteBuffer can hold. */
    private static void read(FileChannel channel, MemorySegment into, long position) throws IOException {
        long chunk = 1L << 30;
        for (long done = 0; done < into.byteSize(); done += chunk) {
            ByteBuffer part = into.asSlice(done, Math.min(chunk, into.byteSize() - done)).asByteBuffer();
            while (part.hasRemaining()) {
                if (channel.read(part, position + done + part.position()) < 0) {
                    return; // the end of the file: the rest stays zero
                }
            }
        }
    }

    private boolean backedByRealPage(Vma vma, long page) {
        if (!vma.anonymous || vma.shared || populatedPages.contains(page)) {
            return true;
        }
        // Java code writes simulated memory directly, unseen by the model: a page holding data was written.
        MemorySegment bytes = vma.backing.slice(page, pageSize);
        for (long i = 0; i + Long.BYTES <= bytes.byteSize(); i += Long.BYTES) {
            if (bytes.get(ValueLayout.JAVA_LONG_UNALIGNED, i) != 0) {
                return true;
            }
        }
        return false;
    }

    private Vma firstEndingAfter(long address) {
        Map.Entry<Long, Vma> below = vmas.floorEntry(address);
        if (below != null && below.getValue().end > address) {
            return below.getValue();
        }
        Map.Entry<Long, Vma> above = vmas.higherEntry(address);
        return above == null ? null : above.getValue();
    }

    /** Splits areas so that {@code start} and {@code end} are boundaries; returns the areas inside, in order. */
    private List<Vma> splitRange(long start, long end) {
        splitAt(start);
        splitAt(end);
        return new ArrayList<>(vmas.subMap(start, true, end, false).values());
    }

    private void splitAt(long address) {
        Map.Entry<Long, Vma> below = vmas.lowerEntry(address);
        if (below != null && below.getValue().end > address) {
            Vma upper = below.getValue().splitAt(address);
            vmas.put(upper.start, upper);
        }
    }

    private void forEachPage(long start, long end, java.util.function.LongConsumer action) {
        for (long page = start; page < end; page += pageSize) {
            action.accept(page);
        }
    }
}
