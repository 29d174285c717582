package dev.kdirect.pmem;

import dev.kdirect.Binding;
import dev.kdirect.Advice;
import dev.kdirect.Errno;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelRelease;
import dev.kdirect.KernelException;
import dev.kdirect.KernelRelease;
import dev.kdirect.Kernels;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Memory failures in a program's own memory: inject them into whole pages, detect them on access as a
 * {@link PoisonedPageException} naming the page, and list the poisoned pages of a range.
 *
 * <p><b>What the kernel does.</b> When memory fails (an uncorrectable ECC error, or an injected one), Linux
 * poisons the page frame, unmaps it from every process, and the next access to the page raises SIGBUS with si_code
 * BUS_MCEERR_AR: the data is gone. The JDK turns a SIGBUS during a {@link MemorySegment} access into
 * {@code java.lang.InternalError: a fault occurred in an unsafe memory access operation}, and the JVM lives on
 * (interpreter, C1 and C2); {@link #guard} turns that error into a {@link PoisonedPageException}. A SIGBUS inside
 * a native downcall (C code reading the page), or inside a JDK intrinsic stub that reads a mapped buffer directly
 * (CRC32C over {@code asByteBuffer()}), kills the JVM instead: never hand possibly poisoned memory to either.
 *
 * <p><b>Injection</b> ({@link #inject}) is madvise(MADV_HWPOISON) or madvise(MADV_SOFT_OFFLINE), which need
 * CAP_SYS_ADMIN and a kernel built with CONFIG_MEMORY_FAILURE. Every page is write-faulted first
 * (MADV_POPULATE_WRITE, which keeps the data): a page never written maps the machine's shared zero page, which the
 * kernel refuses with EBUSY, and marks poisoned for the whole machine while doing so. Kernels with the 2024 change
 * that passes MF_ACTION_REQUIRED from madvise (mainline 6.11) send the SIGBUS to the injecting thread inside the
 * madvise call, which kills a JVM: there {@link #inject} refuses HWPOISON and {@link #injectThroughDebugfs} is the
 * way, by page frame number through the hwpoison_inject module.
 *
 * <p><b>The simulated kernel</b> models poisoned pages (its madvise, pread and pwrite answer as the real kernel's
 * do) but cannot make a plain Java load fault. So on it {@link #guard} looks the guarded segment up in the model
 * <em>before</em> running the access and throws the same {@link PoisonedPageException} if any page of it is
 * poisoned, whether or not the access would have touched that page. Guard only the memory the access uses.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class MemoryFailure {
    /** The debugfs file of the hwpoison_inject module: writing a page frame number poisons that frame. */
    public static final Path DEBUGFS_CORRUPT_PFN = Path.of("/sys/kernel/debug/hwpoison/corrupt-pfn");

    /** The two kinds of failure madvise can inject. */
    public enum Kind {
        /**
         * MADV_HWPOISON (100): the page is poisoned as if its memory had failed. A dirty anonymous page is unmapped
         * and lost: the next access raises SIGBUS (BUS_MCEERR_AR); madvise(MADV_POPULATE_READ) fails with
         * EHWPOISON; copying from or to it in a syscall fails with EFAULT. The frame is retired for good
         * (/proc/meminfo HardwareCorrupted grows by a page); the address range can be used again after munmap and
         * mmap, or MADV_DONTNEED for private anonymous memory.
         */
        HWPOISON(Advice.HWPOISON),
        /**
         * MADV_SOFT_OFFLINE (101): the kernel migrates the data to another frame and retires the old one. The
         * process keeps its data and sees no fault: the drill for a frame that reports correctable errors.
         */
        SOFT_OFFLINE(Advice.SOFT_OFFLINE);

        private final int advice;

        Kind(int advice) {
            this.advice = advice;
        }

        /** The madvise advice value. */
        public int advice() {
            return advice;
        }
    }

    /**
     * An access to guard: any code that reads or writes the guarded segment.
     *
     * @param <T> its result
     * @param <X> the checked exception it may throw ({@link RuntimeException} when none)
     */
    @FunctionalInterface
    public interface Access<T, X extends Exception> {
        /** Runs the access. */
        T run() throws X;
    }

    private final Kernel kernel;
    private final long pageSize;

    private MemoryFailure(Kernel kernel) {
        this.kernel = Objects.requireNonNull(kernel, "kernel");
        this.pageSize = kernel.pageSize();
    }

    /**
     * On the kernel for {@link Feature#MEMORY_FAILURE}: the real one where madvise(MADV_HWPOISON) works and the
     * process has CAP_SYS_ADMIN, the simulated one elsewhere.
     */
    public static MemoryFailure forFeature() {
        return new MemoryFailure(Kernels.forFeature(Feature.MEMORY_FAILURE));
    }

    /** On a given kernel. Memory must be that kernel's: mapped with its {@link Kernel#mmap}. */
    public static MemoryFailure on(Kernel kernel) {
        return new MemoryFailure(kernel);
    }

    /** The kernel this works on. */
    public Kernel kernel() {
        return kernel;
    }

    /**
     * Which kernel this handle is on: a real binding, or {@link Binding#SIMULATED} (a model: no enforcement
     * by the hardware or the kernel).
     */
    public Binding binding() {
        return kernel.binding();
    }

    /**
     * Injects a failure into every page of {@code pages}: first madvise(MADV_POPULATE_WRITE) over the range, so
     * that every page has its own frame (data unchanged), then madvise with {@code kind}.
     *
     * @param pages whole pages of a mapping that is readable and writable; the address must be page aligned
     * @throws IllegalArgumentException when the segment is empty (refused before any syscall: madvise would
     *     succeed and do nothing), not a whole number of pages, or not native
     * @throws UnsupportedOperationException HWPOISON on a real kernel that would signal the injecting thread
     *     inside madvise (6.11 and later), or where vm.memory_failure_early_kill is 1 (the kernel would signal
     *     this process at once): either would kill the JVM
     * @throws KernelException from the write-fault: EINVAL (address not page aligned, pages not writable, or a
     *     kernel before 5.14 without MADV_POPULATE_WRITE), ENOMEM (part of the range is not mapped), EHWPOISON (a
     *     page is poisoned already); from the injection: EPERM (no CAP_SYS_ADMIN), EINVAL (the kernel lacks
     *     CONFIG_MEMORY_FAILURE); on failure the pages before the failing one may have been injected already
     */
    public void inject(MemorySegment pages, Kind kind) throws KernelException {
        Objects.requireNonNull(kind, "kind");
        checkWholePages(pages);
        if (kernel.binding().isReal()) {
            refuseWhereTheKernelWouldSignalUs(kind == Kind.HWPOISON);
        }
        writeFault(pages);
        kernel.madvise(pages, pages.byteSize(), kind.advice());
    }

    /**
     * Injects HWPOISON into every page of {@code pages} by page frame number, through the hwpoison_inject module's
     * debugfs file {@link #DEBUGFS_CORRUPT_PFN}: the route for kernels on which {@link #inject} refuses. The pages
     * are write-faulted, each page's frame is read from /proc/self/pagemap, written to the debugfs file, and the
     * pagemap is read again to check that the page was unmapped as poisoned. memory_failure() then runs without
     * MF_ACTION_REQUIRED: nothing is signalled until the page is accessed. Real kernel only, root only.
     *
     * <p>A frame number names physical memory, not our page: the page could be collapsed into a transparent huge
     * page or migrated between reading its frame and writing it, and the frame would then belong to someone else.
     * So the region is madvised MADV_NOHUGEPAGE before it is faulted in (no huge page, no khugepaged collapse),
     * and right before each write the frame is checked: /proc/kpageflags must show it anonymous, not compound
     * (no THP, hugetlb or KSM page) and not poisoned, /proc/kpagecount must show it mapped once, and pagemap must
     * still map the page to it. Anything else is refused with the reason, and nothing is written.
     *
     * @throws IllegalArgumentException as for {@link #inject}
     * @throws UnsupportedOperationException on the simulated kernel (it has no physical frames: use
     *     {@link #inject}), or where vm.memory_failure_early_kill is 1
     * @throws IllegalStateException when /proc/self/pagemap hides frame numbers (no CAP_SYS_ADMIN), when the frame
     *     fails the check before the write (the message says why; nothing was poisoned), or when the page is not
     *     mapped from its poisoned frame afterwards
     * @throws KernelException from the write-fault, as for {@link #inject}
     * @throws IOException when the debugfs file is missing (load hwpoison_inject, mount debugfs) or refuses the
     *     write (EPERM without CAP_SYS_ADMIN, EBUSY or EINVAL from memory_failure())
     */
    public void injectThroughDebugfs(MemorySegment pages) throws KernelException, IOException {
        checkWholePages(pages);
        if (!kernel.binding().isReal()) {
            throw new UnsupportedOperationException("the debugfs route injects by page frame number, and the simulated"
                    + " kernel has no physical frames: use inject(pages, Kind.HWPOISON)");
        }
        refuseWhereTheKernelWouldSignalUs(false);
        kernel.madvise(pages, pages.byteSize(), Advice.NOHUGEPAGE); // before the fault: small pages, never collapsed
        writeFault(pages);
        try (PageFrames frames = PageFrames.open(kernel)) {
            for (long page = pages.address(); page < pages.address() + pages.byteSize(); page += pageSize) {
                long pfn = PageFrames.presentFrame(frames.entry(page));
                if (pfn < 0) {
                    throw new IllegalStateException("/proc/self/pagemap shows no frame for page 0x"
                            + Long.toHexString(page) + ": frame numbers need CAP_SYS_ADMIN (run with sudo)");
                }
                String refusal = notOnlyOurs(frames, page, pfn);
                if (refusal != null) {
                    throw new IllegalStateException("not poisoning frame 0x" + Long.toHexString(pfn) + " of page 0x"
                            + Long.toHexString(page) + ": " + refusal + "; nothing was poisoned");
                }
                writeCorruptPfn(pfn);
                long after = frames.entry(page);
                if (PageFrames.swapOffset(after) != pfn) {
                    throw new IllegalStateException("frame 0x" + Long.toHexString(pfn) + " was poisoned, but page 0x"
                            + Long.toHexString(page) + " is not unmapped as poisoned (pagemap entry 0x"
                            + Long.toHexString(after) + "): the page moved to another frame in between");
                }
            }
        }
    }

    /**
     * Runs {@code access}, which reads or writes {@code segment}, and reports a poisoned page it reached as a
     * {@link PoisonedPageException} naming the page.
     *
     * <p>On the real kernel the access runs; when it fails with the JDK's {@link InternalError} for a faulting
     * memory access, the poisoned pages of {@code segment} are looked up ({@link #poisonedPages}); if there are
     * none, the fault had another cause (e.g. a file mapping past the end of its file, or memory outside the
     * segment) and the error is rethrown as it was. The JDK raises the error asynchronously, at the next
     * safepoint poll after the faulting instruction: the access may have gone on for a while with garbage from the
     * failed load, and under C2 may have stored it. <b>Discard everything the access produced</b>, also where it
     * wrote to other memory. The access must reach the segment through {@link MemorySegment} accessors and
     * {@link MemorySegment#copy}, and must not catch {@link InternalError} itself: native code, and JDK intrinsics
     * that read a mapped buffer directly (e.g. {@code CRC32C.update(segment.asByteBuffer())}, which died with
     * SIGBUS in StubRoutines::updateBytesCRC32C in the guest), kill the JVM on a poisoned page. Copy the data to
     * the heap first. On the simulated kernel the poisoned pages are looked up before the access, which
     * then does not run at all (see the class comment).
     *
     * @param segment the memory the access uses (a native segment)
     * @return what the access returned
     * @throws PoisonedPageException when the access reached a poisoned page of {@code segment} (on the simulated
     *     kernel: when {@code segment} has one)
     * @throws X what the access throws
     * @throws InternalError the JDK's fault error, when no page of {@code segment} is poisoned
     * @throws UncheckedIOException on the simulated kernel, when the pages cannot be looked up (not readable)
     */
    public <T, X extends Exception> T guard(MemorySegment segment, Access<T, X> access)
            throws PoisonedPageException, X {
        requireNative(segment);
        Objects.requireNonNull(access, "access");
        if (!kernel.binding().isReal()) {
            List<PoisonedPage> poisoned;
            try {
                poisoned = poisonedPages(segment);
            } catch (KernelException e) {
                throw new UncheckedIOException(e);
            }
            if (!poisoned.isEmpty()) {
                throw new PoisonedPageException(poisoned, kernel.binding(), "found in the simulated kernel's model"
                        + " before the access, which did not run: the model cannot make a load fault", null);
            }
            return access.run();
        }
        try {
            T result = access.run();
            deliverPendingFault();
            return result;
        } catch (InternalError fault) {
            List<PoisonedPage> poisoned;
            try {
                poisoned = poisonedPages(segment);
            } catch (KernelException | RuntimeException e) {
                fault.addSuppressed(e);
                throw fault;
            }
            if (poisoned.isEmpty()) {
                throw fault;
            }
            throw new PoisonedPageException(poisoned, kernel.binding(), "SIGBUS BUS_MCEERR_AR on access, raised by"
                    + " the JDK as InternalError", fault);
        }
    }

    /**
     * The poisoned pages of the pages {@code segment} touches, in address order.
     *
     * <p>Where this process may read /proc/kpageflags and sees frame numbers in /proc/self/pagemap (root on the real
     * kernel), the candidates are the pages whose pagemap entry is a swap entry pointing at a frame that kpageflags
     * marks HWPOISON (bit 19); each is confirmed with madvise(MADV_POPULATE_READ) on that page alone, which fails
     * with EHWPOISON on a poisoned page, and reported with its frame number. Elsewhere, and on the simulated kernel,
     * the range is probed with madvise(MADV_POPULATE_READ), halving a range that fails until single pages remain:
     * this faults the other pages in for reading (a page never written maps the zero page; a file page is read
     * from the file). Both ways send no signal. Present pages are never reported: after a failed injection into the
     * zero page, kpageflags marks that page HWPOISON, but it still reads as zeros.
     *
     * @param segment a native segment; unmapped parts of it have no poisoned pages
     * @throws KernelException EINVAL when the probe cannot run: pages that are not readable, or a kernel before
     *     5.14 without MADV_POPULATE_READ
     */
    public List<PoisonedPage> poisonedPages(MemorySegment segment) throws KernelException {
        return poisonedPages(segment, true);
    }

    /** {@link #poisonedPages}, on the real kernel optionally without the pagemap route (for tests). */
    List<PoisonedPage> poisonedPages(MemorySegment segment, boolean pagemapAllowed) throws KernelException {
        requireNative(segment);
        if (segment.byteSize() == 0) {
            return List.of();
        }
        long first = segment.address() & -pageSize;
        long end = (segment.address() + segment.byteSize() + pageSize - 1) & -pageSize;
        Map<Long, Long> found = new LinkedHashMap<>(); // page -> frame, -1 when unknown
        if (!kernel.binding().isReal() || !pagemapAllowed || !fromPagemap(first, end, found)) {
            List<Long> pages = new ArrayList<>();
            probe(first, end, pages);
            pages.forEach(p -> found.put(p, -1L));
        }
        List<PoisonedPage> result = new ArrayList<>(found.size());
        found.forEach((page, pfn) -> result.add(new PoisonedPage(page, Math.max(0, page - segment.address()), pfn)));
        return List.copyOf(result);
    }

    /** The pagemap route; false when this process cannot see frames or page flags. */
    private boolean fromPagemap(long first, long end, Map<Long, Long> found) throws KernelException {
        try (PageFrames frames = PageFrames.open(kernel)) {
            if (!frames.canReadPageFlags()) {
                return false;
            }
            int count = (int) ((end - first) / pageSize);
            long[] entries = frames.entries(first, count);
            for (int i = 0; i < count; i++) {
                long entry = entries[i];
                if ((entry & PageFrames.SWAPPED) != 0 && (entry & PageFrames.FRAME_MASK) == 0) {
                    return false; // swap fields hidden: no CAP_SYS_ADMIN
                }
                long pfn = PageFrames.swapOffset(entry);
                if (pfn > 0 && (frames.pageFlags(pfn) & PageFrames.KPF_HWPOISON) != 0) {
                    long page = first + i * pageSize;
                    List<Long> confirmed = new ArrayList<>(1);
                    probe(page, page + pageSize, confirmed); // a real swap slot can number a poisoned frame
                    if (!confirmed.isEmpty()) {
                        found.put(page, pfn);
                    }
                }
            }
            return true;
        }
    }

    /**
     * madvise(MADV_POPULATE_READ) over [from, to): success or ENOMEM (the unmapped parts) means no poisoned page in
     * the mapped parts; EHWPOISON, or EFAULT (a page that faults for another reason, which stops the walk before
     * the pages after it), means look closer.
     */
    private void probe(long from, long to, List<Long> poisoned) throws KernelException {
        try {
            kernel.madvise(MemorySegment.ofAddress(from), to - from, Advice.POPULATE_READ);
            return;
        } catch (KernelException e) {
            if (e.is(Errno.ENOMEM)) {
                return;
            }
            if (!e.is(Errno.EHWPOISON) && !e.is(Errno.EFAULT)) {
                throw new KernelException(e.errno(), e.syscall(), e.arguments(), "poisoned pages are found with"
                        + " MADV_POPULATE_READ (Linux 5.14 and later), which needs readable pages");
            }
            if (to - from == pageSize) {
                if (e.is(Errno.EHWPOISON)) {
                    poisoned.add(from);
                }
                return;
            }
        }
        long middle = from + (to - from) / pageSize / 2 * pageSize;
        probe(from, middle, poisoned);
        probe(middle, to, poisoned);
    }

    /**
     * Makes the JVM deliver a fault error still pending from the access here, inside the guard's try. HotSpot skips
     * the faulting instruction and raises the InternalError asynchronously, at the thread's next safepoint poll;
     * when C2 has inlined the access into the guard, the next poll is the guard's own return, outside the try, and
     * the error escaped every time on this project's host (JDK 25, a truncated file mapping, 3000 of 3000 faults
     * after warm-up; C1 and the interpreter delivered it inside). Returning from a JNI method processes pending
     * asynchronous exceptions, and Thread.holdsLock is one that C2 does not inline ("failed to inline: native
     * method") and that costs no syscall: with it, 3000 of 3000 were caught under C2 too.
     */
    private static void deliverPendingFault() {
        Thread.holdsLock(MemoryFailure.class);
    }

    /**
     * Why frame {@code pfn} may not be ours alone to poison as page {@code page}, or null when it is: read right
     * before the write, last of all the pagemap entry (a page migrated after the flags were read maps elsewhere).
     */
    static String notOnlyOurs(PageFrames frames, long page, long pfn) throws KernelException {
        if (!frames.canReadPageFlags()) {
            return "/proc/kpageflags cannot be read (root only), so the frame's owner cannot be checked";
        }
        long flags = frames.pageFlags(pfn);
        long mapped = frames.mapCount(pfn);
        if ((flags & (PageFrames.KPF_COMPOUND_HEAD | PageFrames.KPF_COMPOUND_TAIL | PageFrames.KPF_THP
                | PageFrames.KPF_HUGE)) != 0) {
            return "it is part of a compound page (a transparent or hugetlb huge page: kpageflags 0x"
                    + Long.toHexString(flags) + ")";
        }
        if ((flags & PageFrames.KPF_ANON) == 0 || (flags & PageFrames.KPF_KSM) != 0) {
            return "it is not a private anonymous page (kpageflags 0x" + Long.toHexString(flags) + ")";
        }
        if ((flags & PageFrames.KPF_HWPOISON) != 0) {
            return "it is poisoned already";
        }
        if (mapped != 1) {
            return "it is mapped " + mapped + " times (/proc/kpagecount), not once: shared with another mapping or"
                    + " process";
        }
        long now = PageFrames.presentFrame(frames.entry(page));
        if (now != pfn) {
            return "the page moved to frame 0x" + Long.toHexString(now) + " meanwhile";
        }
        return null;
    }

    private void writeFault(MemorySegment pages) throws KernelException {
        try {
            kernel.madvise(pages, pages.byteSize(), Advice.POPULATE_WRITE);
        } catch (KernelException e) {
            Errno errno = e.error();
            String hint = errno == Errno.EINVAL ? "memory-failure injection write-faults the pages first"
                    + " (MADV_POPULATE_WRITE, Linux 5.14 and later), so that none is the shared zero page: the address"
                    + " must be page aligned and the pages mapped readable and writable"
                    : errno == Errno.ENOMEM ? "part of the range is not mapped"
                    : errno == Errno.EHWPOISON ? "a page of the range is poisoned already"
                    : e.hint();
            throw new KernelException(e.errno(), e.syscall(), e.arguments(), hint);
        }
    }

    private void checkWholePages(MemorySegment pages) {
        requireNative(pages);
        if (pages.byteSize() == 0) {
            throw new IllegalArgumentException("no pages to inject a memory failure into: the segment is empty"
                    + " (madvise would succeed and do nothing)");
        }
        if (pages.byteSize() % pageSize != 0) {
            throw new IllegalArgumentException("memory failures hit whole pages: " + pages.byteSize()
                    + " bytes is not a multiple of the page size " + pageSize);
        }
    }

    private static void requireNative(MemorySegment segment) {
        Objects.requireNonNull(segment, "segment");
        if (!segment.isNative()) {
            throw new IllegalArgumentException("memory failures concern mapped memory: " + segment
                    + " is a heap segment");
        }
    }

    private static void refuseWhereTheKernelWouldSignalUs(boolean madviseHwpoison) {
        if (readTrimmed(Path.of("/proc/sys/vm/memory_failure_early_kill")).equals("1")) {
            throw new UnsupportedOperationException("vm.memory_failure_early_kill is 1: the kernel would send SIGBUS"
                    + " (BUS_MCEERR_AO) to this process as soon as the page is poisoned, which kills a JVM; set it"
                    + " to 0 for the drill");
        }
        KernelRelease release = KernelRelease.running();
        if (madviseHwpoison && release.atLeast(6, 11)) {
            throw new UnsupportedOperationException("Linux " + release + " passes MF_ACTION_REQUIRED from"
                    + " madvise(MADV_HWPOISON) (since 6.11): it would send SIGBUS to this thread inside the madvise"
                    + " call, which kills a JVM. Use injectThroughDebugfs (modprobe hwpoison_inject), or inject"
                    + " from a helper process");
        }
    }

    /** True for a kernel release of 6.11 or later ("6.1.0-50-amd64" is false). */
    static boolean signalsInsideMadvise(String release) {
        return KernelRelease.parse(release).atLeast(6, 11);
    }

    private static String readTrimmed(Path file) {
        try {
            return Files.readString(file).trim();
        } catch (IOException e) {
            return "";
        }
    }

    private static void writeCorruptPfn(long pfn) throws IOException {
        try (FileChannel debugfs = FileChannel.open(DEBUGFS_CORRUPT_PFN, StandardOpenOption.WRITE)) {
            // a simple debugfs attribute: one write(2) with the number (pwrite would fail with ESPIPE)
            debugfs.write(ByteBuffer.wrap(("0x" + Long.toHexString(pfn) + "\n").getBytes(StandardCharsets.US_ASCII)));
        } catch (NoSuchFileException e) {
            throw new IOException(DEBUGFS_CORRUPT_PFN + " does not exist: load the hwpoison_inject module (modprobe"
                    + " hwpoison_inject) and mount debugfs at /sys/kernel/debug", e);
        } catch (IOException e) {
            throw new IOException("writing frame 0x" + Long.toHexString(pfn) + " to " + DEBUGFS_CORRUPT_PFN
                    + " failed: " + e.getMessage(), e);
        }
    }
}
