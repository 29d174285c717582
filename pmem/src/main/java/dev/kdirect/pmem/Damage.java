package dev.kdirect.pmem;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED;

import java.lang.foreign.MemorySegment;
import java.util.Random;

/**
 * Media damage the {@link CrashTester} applies to a copy of a persisted image: what a crash does not make, but
 * worn or misdirected media does. {@link #apply} changes the image and describes what it did. The built-in kinds
 * damage anywhere in the image's used part (up to its last non-zero byte); a program adds kinds that aim at its own
 * structures (a torn commit slot, a moved end pointer).
 */
@FunctionalInterface
public interface Damage {

    /**
     * Damages {@code image}.
     *
     * @param used the offset after the image's last non-zero byte
     * @return what was done, for the report
     */
    String apply(MemorySegment image, long used, Random random);

    /** One bit flipped, anywhere in the used part. */
    Damage BIT_FLIP = (image, used, random) -> {
        long at = random.nextLong(Math.max(1, used));
        int bit = random.nextInt(8);
        image.set(JAVA_BYTE, at, (byte) (image.get(JAVA_BYTE, at) ^ (1 << bit)));
        return "bit " + bit + " of byte " + at + " flipped";
    };

    /** 1 to 512 bytes zeroed, half of the time 8-byte aligned, starting anywhere in the used part. */
    Damage ZEROED_RANGE = (image, used, random) -> {
        long start = random.nextLong(Math.max(1, used));
        long length = 1 + random.nextLong(512);
        if (random.nextBoolean()) {
            start &= -8L;
            length = (length + 7) & -8L;
        }
        length = Math.min(length, image.byteSize() - start);
        image.asSlice(start, length).fill((byte) 0);
        return length + " bytes zeroed at " + start;
    };

    /** Everything from an 8-byte aligned offset in the used part on zeroed: a truncated copy. */
    Damage ZEROED_TAIL = (image, used, random) -> {
        long start = random.nextLong(Math.max(1, used)) & -8L;
        image.asSlice(start).fill((byte) 0);
        return "zeroed from " + start + " on";
    };

    /** The offset after the last non-zero byte (0 for an all-zero image). */
    static long used(MemorySegment image) {
        long at = image.byteSize() & -8L;
        while (at > 0 && image.get(JAVA_LONG_UNALIGNED, at - 8) == 0) {
            at -= 8;
        }
        return at;
    }
}
