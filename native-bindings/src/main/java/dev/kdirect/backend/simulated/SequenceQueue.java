package dev.kdirect.backend.simulated;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The bytes of one direction of a TCP connection that one end still holds, in sequence order: for a receive
 * queue the bytes from copied_seq to rcv_nxt (received, not read), for a send queue those from snd_una to
 * write_seq (not yet acknowledged). Bytes leave only from the head, so nothing is lost or duplicated.
 */
final class SequenceQueue {
    private byte[] bytes = new byte[256];
    private int head;
    private int size;

    int size() {
        return size;
    }

    void append(MemorySegment data) {
        int length = (int) data.byteSize();
        if (head + size + length > bytes.length) {
            byte[] grown = new byte[Math.max(bytes.length * 2, size + length)];
            System.arraycopy(bytes, head, grown, 0, size);
            bytes = grown;
            head = 0;
        }
        MemorySegment.copy(data, ValueLayout.JAVA_BYTE, 0, bytes, head + size, length);
        size += length;
    }

    /** Copies {@code length} bytes starting {@code offset} bytes after the head into {@code target}. */
    void copyTo(int offset, MemorySegment target, int length) {
        MemorySegment.copy(bytes, head + offset, target, ValueLayout.JAVA_BYTE, 0, length);
    }

    /** Copies {@code length} bytes starting {@code offset} bytes after the head into another queue's tail. */
    void copyTo(int offset, SequenceQueue target, int length) {
        target.append(MemorySegment.ofArray(Arrays.copyOfRange(bytes, head + offset, head + offset + length)));
    }

    /** Drops {@code length} bytes from the head (read, or acknowledged). */
    void drop(int length) {
        head += length;
        size -= length;
        if (size == 0) {
            head = 0;
        }
    }
}
