package dev.kdirect.backend.ffm;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The capget(2) structures, version 3 (include/uapi/linux/capability.h): a header {version, pid} and two
 * {effective, permitted, inheritable} words, low 32 capabilities first.
 */
record CapabilityAbi(MemorySegment header, MemorySegment data) {
    private static final int LINUX_CAPABILITY_VERSION_3 = 0x20080522;
    private static final int WORDS = 2;
    private static final int WORD_BYTES = 3 * Integer.BYTES;

    CapabilityAbi(Arena arena) {
        this(arena.allocate(2L * Integer.BYTES, Integer.BYTES), arena.allocate((long) WORDS * WORD_BYTES, Integer.BYTES));
        header.set(JAVA_INT, 0, LINUX_CAPABILITY_VERSION_3);
        header.set(JAVA_INT, Integer.BYTES, 0); // pid 0: the calling thread
    }

    long effective() {
        long low = Integer.toUnsignedLong(data.get(JAVA_INT, 0));
        long high = Integer.toUnsignedLong(data.get(JAVA_INT, WORD_BYTES));
        return low | (high << 32);
    }
}
