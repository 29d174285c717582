package dev.kdirect.pmem;

/**
 * The smallest unit a program must write back to make a store persistent (PMDK libpmem2's
 * pmem2_granularity): what decides how {@link PmemRegion#flush} works.
 */
public enum Granularity {
    /** eADR: the CPU caches are in the persistence domain; a store is persistent once it is globally visible. */
    BYTE,
    /** DAX with MAP_SYNC: write back the cache lines (clwb) and fence; no syscall. */
    CACHE_LINE,
    /** Page cache: only msync(2) writes a page back to the file. */
    PAGE
}
