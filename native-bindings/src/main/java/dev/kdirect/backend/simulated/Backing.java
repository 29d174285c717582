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
    private long mappedBytes;
    private final long length;
    private final long backedBytes;
    private boolean copy;

    /** @param mappedBytes the whole pages mapped; a file mapping's memory may end inside the last one */
    Backing(Arena arena, MemorySegment memory, long mappedBytes) {
        this(arena, memory, mappedBytes, mappedBytes);
    }

    /**
     * @param backedBytes the whole pages from the start that have memory behind them: fewer than {@code mappedBytes}
     *        for a file mapping reaching whole pages past the end of the file (pages the kernel maps, but any access
     *        to which is SIGBUS); the model reserves no memory for those, it keeps only their addresses
     */
    Backing(Arena arena, MemorySegment memory, long mappedBytes, long backedBytes) {
        this.arena = arena;
        this.memory = memory;
        this.mappedBytes = mappedBytes;
        this.length = mappedBytes;
        this.backedBytes = backedBytes;
    }

    /** The end of the pages with memory behind them (see {@link #Backing(Arena, MemorySegment, long, long)}). */
    long backedEnd() {
        return base() + backedBytes;
    }

    long base() {
        return memory.address();
    }

    /** The bytes at {@code address} (inside this backing), clipped to the end of a file mapping's memory. */
    MemorySegment slice(long address, long length) {
        long offset = address - base();
        return memory.asSlice(Math.min(offset, memory.byteSize()),
                Math.max(0, Math.min(length, Math.min(memory.byteSize(), backedBytes) - offset)));
    }

    /**
     * The whole pages at {@code address} with memory behind them, clipped to {@link #backedEnd}: unlike
     * {@link #slice}, also the rest of a file mapping's last page past the end of the file, which the kernel maps
     * (zeros, or what the process stored there).
     */
    MemorySegment pages(long address, long length) {
        return MemorySegment.ofAddress(address).reinterpret(Math.max(0, Math.min(length, backedEnd() - address)));
    }

    /** The end of the addresses this memory covers (mapped or since unmapped). */
    long end() {
        return base() + length;
    }

    long length() {
        return length;
    }

    /** {@code bytes} of it were unmapped; whether none is mapped any more (the caller frees it, see discard). */
    boolean unmapped(long bytes) {
        mappedBytes -= bytes;
        return mappedBytes == 0;
    }

    /** Marks this memory as a copy of a file's bytes taken at mmap, not a mapping of the file. */
    Backing asCopy() {
        copy = true;
        return this;
    }

    boolean isCopy() {
        return copy;
    }

    /** Frees the memory: no page of it is mapped, or it was never entered into the map. */
    void discard() {
        arena.close();
    }
}
