package dev.kdirect.pmem;

import java.util.List;

/**
 * What a power cut at one moment may leave on the media: the persisted words, and for every word stored but not
 * yet persisted the values it may hold (8 aligned bytes are written atomically, so each such word holds one of
 * them, independently of the others).
 *
 * @param point the crash point's number, in the order the workload reached them
 * @param label what the workload was doing (e.g. "before drain 3")
 * @param media the region's persisted content, 8-byte words
 * @param uncertain the words that may differ from {@code media}
 * @param acknowledged what the workload had acknowledged before this point
 */
record CrashState(int point, String label, long[] media, List<UncertainWord> uncertain, List<Object> acknowledged) {

    /** A word whose value after the crash is one of {@code candidates} (the persisted one first). */
    record UncertainWord(int index, long[] candidates, boolean flushed) {
    }
}
