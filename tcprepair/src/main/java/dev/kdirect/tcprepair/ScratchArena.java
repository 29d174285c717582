package dev.kdirect.tcprepair;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * A confined arena for one checkpoint or restore: its few dozen small values (socket option ints, TCP_INFO, the
 * repair window and options) are sliced from one block, so an operation calls malloc once instead of once per
 * value; anything larger than what is left (queue bytes) comes from the confined arena itself. Freed together.
 */
final class ScratchArena implements Arena {
    private static final long BLOCK = 2048;

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment block = arena.allocate(BLOCK, 16);
    private long used;

    @Override
    public MemorySegment allocate(long byteSize, long byteAlignment) {
        long start = (used + byteAlignment - 1) & -byteAlignment;
        if (byteSize > BLOCK - start) {
            return arena.allocate(byteSize, byteAlignment);
        }
        used = start + byteSize;
        return block.asSlice(start, byteSize).fill((byte) 0);
    }

    @Override
    public MemorySegment.Scope scope() {
        return arena.scope();
    }

    @Override
    public void close() {
        arena.close();
    }
}
