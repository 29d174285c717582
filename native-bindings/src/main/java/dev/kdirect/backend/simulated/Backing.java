package dev.kdirect.backend.simulated;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The real memory behind one simulated mmap: page-aligned off-heap memory (anonymous mappings) or an NIO file
 * mapping (file mappings). Java code reads and writes it directly; the model keeps the mapping's rules in
 * {@link Vma}s. Released when its last page is unmapped, as the kernel frees the pages.
 */
final class Backing {
    private final Arena arena;
    private final MemorySegment memory;
    private final long length;
    private long mappedBytes;

    /** @param mappedBytes the whole pages mapped; a file mapping's memory may end inside the last one */
    Backing(Arena arena, MemorySegment memory, long mappedBytes) {
        this.arena = arena;
        this.memory = memory;
        this.mappedBytes = mappedBytes;
        this.length = mappedBytes;
    }

    /** Whether {@code address} lies in the pages this backing was mapped with and it is not released yet. */
    boolean holds(long address) {
        return mappedBytes > 0 && address >= base() && address < base() + length;
    }

    long base() {
        return memory.address();
    }

    /** The bytes at {@code address} (inside this backing), clipped to the end of a file mapping's memory. */
    MemorySegment slice(long address, long length) {
        long offset = address - base();
        return memory.asSlice(offset, Math.max(0, Math.min(length, memory.byteSize() - offset)));
    }

    void unmapped(long bytes) {
        mappedBytes -= bytes;
        if (mappedBytes == 0) {
            arena.close();
        }
    }
}
