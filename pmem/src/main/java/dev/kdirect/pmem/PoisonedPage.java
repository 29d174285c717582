package dev.kdirect.pmem;

/**
 * One poisoned page of a segment: a page whose memory failed (or had a failure injected), so the kernel has
 * unmapped it and an access to it raises SIGBUS (BUS_MCEERR_AR) instead of returning data. The data in it is
 * lost.
 *
 * @param address the page's virtual address (page aligned)
 * @param offset where the page begins in the segment that was examined, or 0 when that segment begins inside it
 * @param pfn the page frame number that failed, from /proc/self/pagemap and confirmed by /proc/kpageflags
 *     (HWPOISON, bit 19); -1 where it is not known: without CAP_SYS_ADMIN, or on the simulated kernel, which has
 *     no physical frames
 */
public record PoisonedPage(long address, long offset, long pfn) {
    @Override
    public String toString() {
        return "page 0x" + Long.toHexString(address) + " (offset " + offset + ")"
                + (pfn >= 0 ? ", frame 0x" + Long.toHexString(pfn) : "");
    }
}
