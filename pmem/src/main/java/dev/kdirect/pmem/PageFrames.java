package dev.kdirect.pmem;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.OpenFlags;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * /proc/self/pagemap and /proc/kpageflags (Documentation/admin-guide/mm/pagemap.rst), read through a real
 * {@link Kernel}. A pagemap entry is 64 bits per virtual page: bit 63 present (bits 0-54 the page frame number), bit
 * 62 swapped (bits 0-4 the swap type, 5-54 the offset). Frame numbers and swap fields read as 0 without
 * CAP_SYS_ADMIN. A poisoned anonymous page is a swap entry of the hwpoison type whose offset is the frame number
 * (seen in the guest, Debian 6.1: type 26 there; the number depends on the kernel's configuration, so it is not
 * used here); /proc/kpageflags (root only) has bit 19, HWPOISON, set for that frame.
 */
final class PageFrames implements AutoCloseable {
    static final long PRESENT = 1L << 63;
    static final long SWAPPED = 1L << 62;
    static final long FRAME_MASK = (1L << 55) - 1;
    static final int SWAP_TYPE_BITS = 5;
    /** /proc/kpageflags bits (include/uapi/linux/kernel-page-flags.h). */
    static final long KPF_ANON = 1L << 12;
    static final long KPF_COMPOUND_HEAD = 1L << 15;
    static final long KPF_COMPOUND_TAIL = 1L << 16;
    static final long KPF_HUGE = 1L << 17;
    static final long KPF_HWPOISON = 1L << 19;
    static final long KPF_KSM = 1L << 21;
    static final long KPF_THP = 1L << 22;
    private static final int CHUNK = 512;

    private final Kernel kernel;
    private final int pagemap;
    private final int kpageflags;
    private final int kpagecount;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment buffer = arena.allocate(CHUNK * Long.BYTES, Long.BYTES);

    private PageFrames(Kernel kernel, int pagemap, int kpageflags, int kpagecount) {
        this.kernel = kernel;
        this.pagemap = pagemap;
        this.kpageflags = kpageflags;
        this.kpagecount = kpagecount;
    }

    /**
     * Opens this process's pagemap, and /proc/kpageflags and /proc/kpagecount when this process may read them (-1
     * otherwise).
     *
     * @throws KernelException when /proc/self/pagemap cannot be opened
     */
    static PageFrames open(Kernel kernel) throws KernelException {
        int pagemap = kernel.open("/proc/self/pagemap", OpenFlags.RDONLY | OpenFlags.CLOEXEC, 0);
        return new PageFrames(kernel, pagemap, openIfPermitted(kernel, "/proc/kpageflags"),
                openIfPermitted(kernel, "/proc/kpagecount"));
    }

    private static int openIfPermitted(Kernel kernel, String path) {
        try {
            return kernel.open(path, OpenFlags.RDONLY | OpenFlags.CLOEXEC, 0);
        } catch (KernelException e) {
            return -1; // root only (mode 0400)
        }
    }

    boolean canReadPageFlags() {
        return kpageflags >= 0;
    }

    /** The pagemap entries of the pages [first, first + count pages). */
    long[] entries(long firstPage, int count) throws KernelException {
        long page = kernel.pageSize();
        long[] result = new long[count];
        for (int done = 0; done < count; ) {
            int n = Math.min(CHUNK, count - done);
            readFully(pagemap, buffer.asSlice(0, (long) n * Long.BYTES), (firstPage / page + done) * Long.BYTES);
            for (int i = 0; i < n; i++) {
                result[done + i] = buffer.getAtIndex(JAVA_LONG, i);
            }
            done += n;
        }
        return result;
    }

    /** The entry of one page. */
    long entry(long page) throws KernelException {
        return entries(page, 1)[0];
    }

    /** The /proc/kpageflags word of a frame. */
    long pageFlags(long pfn) throws KernelException {
        readFully(kpageflags, buffer.asSlice(0, Long.BYTES), pfn * Long.BYTES);
        return buffer.get(JAVA_LONG, 0);
    }

    /** How many page table entries map a frame (/proc/kpagecount); -1 where it cannot be read. */
    long mapCount(long pfn) throws KernelException {
        if (kpagecount < 0) {
            return -1;
        }
        readFully(kpagecount, buffer.asSlice(0, Long.BYTES), pfn * Long.BYTES);
        return buffer.get(JAVA_LONG, 0);
    }

    /** The frame a swap entry points to, if the entry is a swap entry with its fields visible; else -1. */
    static long swapOffset(long entry) {
        if ((entry & PRESENT) != 0 || (entry & SWAPPED) == 0 || (entry & FRAME_MASK) == 0) {
            return -1;
        }
        return (entry & FRAME_MASK) >>> SWAP_TYPE_BITS;
    }

    /** The frame of a present page, or -1 (not present, or hidden without CAP_SYS_ADMIN). */
    static long presentFrame(long entry) {
        return (entry & PRESENT) != 0 && (entry & FRAME_MASK) != 0 ? entry & FRAME_MASK : -1;
    }

    private void readFully(int fd, MemorySegment target, long offset) throws KernelException {
        long done = 0;
        while (done < target.byteSize()) {
            long n = kernel.pread(fd, target.asSlice(done), offset + done);
            if (n <= 0) {
                throw new IllegalStateException("short read of " + (fd == pagemap ? "/proc/self/pagemap"
                        : fd == kpageflags ? "/proc/kpageflags" : "/proc/kpagecount") + " at offset "
                        + (offset + done));
            }
            done += n;
        }
    }

    @Override
    public void close() throws KernelException {
        try {
            kernel.close(pagemap);
            if (kpageflags >= 0) {
                kernel.close(kpageflags);
            }
            if (kpagecount >= 0) {
                kernel.close(kpagecount);
            }
        } finally {
            arena.close();
        }
    }
}
