package dev.kdirect.pmem;

import dev.kdirect.PersistenceObserver;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.BiConsumer;

/**
 * The simulated machine's persistence domain for one region: every 64-byte line is clean, dirty (stored since it
 * was last written back) or flushed (written back, not yet fenced); a fence makes flushed lines persistent, and
 * so does msync for the pages it writes back; at a crash any dirty or flushed word may or may not have reached
 * the media, 8 aligned bytes at a time (the x86 failure-atomicity unit). It sees stores because
 * {@link PmemRegion}'s accessors report them, and write-backs, fences and msyncs because the simulated kernel
 * tells it what it executed (as a {@link PersistenceObserver}): a region that never writes back loses its data.
 */
final class PersistenceModel implements PersistenceObserver {
    static final int LINE = 64;
    private static final int WORDS_PER_LINE = LINE / Long.BYTES;

    private final MemorySegment memory;
    private final BiConsumer<PersistenceModel, String> beforeFence;
    private final long[] media;
    private final BitSet dirtyWords = new BitSet();
    /** Flushed lines: the words as written back, waiting for a fence. */
    private final Map<Integer, long[]> pending = new LinkedHashMap<>();
    private final TreeSet<Long> redundantFlushes = new TreeSet<>();
    private long linesWrittenBack;
    private long fences;

    /** @param beforeFence told "before fence N" just before the N-th fence takes effect: the crash tester's hook */
    PersistenceModel(MemorySegment memory, BiConsumer<PersistenceModel, String> beforeFence) {
        this.memory = memory;
        this.beforeFence = beforeFence;
        this.media = new long[(int) (memory.byteSize() / Long.BYTES)];
        for (int i = 0; i < media.length; i++) {
            media[i] = word(i);
        }
    }

    /** A store of {@code length} bytes at {@code offset} happened: its words are dirty. */
    synchronized void stored(long offset, long length) {
        if (length > 0) {
            dirtyWords.set((int) (offset / Long.BYTES), (int) ((offset + length - 1) / Long.BYTES) + 1);
        }
    }

    /** clwb of the lines covering the range; a line with nothing new to write back is a redundant flush. */
    @Override
    public synchronized void writtenBack(long offset, long length) {
        for (int line = (int) (offset / LINE); (long) line * LINE < offset + length; line++) {
            linesWrittenBack++;
            int first = line * WORDS_PER_LINE;
            int end = Math.min(first + WORDS_PER_LINE, media.length);
            if (dirtyWords.get(first, end).isEmpty()) {
                redundantFlushes.add((long) line * LINE);
                continue;
            }
            long[] snapshot = pending.computeIfAbsent(line, l -> new long[end - first]);
            for (int w = first; w < end; w++) {
                snapshot[w - first] = word(w);
            }
            dirtyWords.clear(first, end);
        }
    }

    /** sfence: flushed lines become persistent. */
    @Override
    public synchronized void fenced() {
        beforeFence.accept(this, "before fence " + ++fences);
        for (Map.Entry<Integer, long[]> e : pending.entrySet()) {
            System.arraycopy(e.getValue(), 0, media, e.getKey() * WORDS_PER_LINE, e.getValue().length);
        }
        pending.clear();
    }

    /** msync(MS_SYNC) of whole pages: their current content is persistent, whatever was flushed before. */
    @Override
    public synchronized void synced(long offset, long length) {
        int first = (int) (offset / Long.BYTES);
        int end = (int) Math.min(media.length, (offset + length) / Long.BYTES);
        for (int w = first; w < end; w++) {
            media[w] = word(w);
        }
        dirtyWords.clear(first, end);
        pending.keySet().removeIf(line -> line >= first / WORDS_PER_LINE && line < end / WORDS_PER_LINE);
    }

    /**
     * The power failed: each word goes back to what the media holds, the worst of the images {@link #crashState}
     * allows (the crash tester draws the others). Flushed but unfenced lines are lost too.
     */
    @Override
    public synchronized void powerCut() {
        for (int w = 0; w < media.length; w++) {
            memory.set(ValueLayout.JAVA_LONG_UNALIGNED, (long) w * Long.BYTES, media[w]);
        }
        dirtyWords.clear();
        pending.clear();
    }

    /** Lines written back so far (each line of each write-back, redundant ones included). */
    synchronized long linesWrittenBack() {
        return linesWrittenBack;
    }

    /** Fences so far. */
    synchronized long fences() {
        return fences;
    }

    /** What a crash now may leave: the media, and each dirty or flushed word's possible values. */
    synchronized CrashState crashState(int point, String label, List<Object> acknowledged) {
        List<CrashState.UncertainWord> uncertain = new ArrayList<>();
        BitSet words = (BitSet) dirtyWords.clone();
        pending.keySet().forEach(line -> words.set(line * WORDS_PER_LINE,
                Math.min((line + 1) * WORDS_PER_LINE, media.length)));
        words.stream().forEach(w -> {
            long[] snapshot = pending.get(w / WORDS_PER_LINE);
            long flushedValue = snapshot == null ? media[w] : snapshot[w % WORDS_PER_LINE];
            long[] candidates = java.util.stream.LongStream.of(media[w], flushedValue, word(w)).distinct().toArray();
            if (candidates.length > 1) {
                uncertain.add(new CrashState.UncertainWord(w, candidates, snapshot != null));
            }
        });
        return new CrashState(point, label, media.clone(), List.copyOf(uncertain), List.copyOf(acknowledged));
    }

    /** Offsets of lines written back with nothing new in them. */
    synchronized List<Long> redundantFlushes() {
        return List.copyOf(redundantFlushes);
    }

    private long word(int index) {
        return memory.get(ValueLayout.JAVA_LONG_UNALIGNED, (long) index * Long.BYTES);
    }
}
