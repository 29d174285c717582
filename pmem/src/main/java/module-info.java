/**
 * kdirect pmem: files on DAX persistent memory mapped with MAP_SYNC, written back a cache line at a time (or a
 * page at a time with msync where the file is not DAX), and a crash-consistency model of the simulated kernel
 * with a crash tester that checks a program's recovery against every state a power cut can leave.
 */
module dev.kdirect.pmem {
    requires transitive dev.kdirect;

    exports dev.kdirect.pmem;
}
