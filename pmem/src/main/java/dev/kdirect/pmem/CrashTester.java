package dev.kdirect.pmem;

import dev.kdirect.Credentials;
import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;

/**
 * Checks a program's crash consistency on the simulated machine: runs a workload on a simulated persistent
 * region, takes a crash point before every fence and after the last store, produces the images a power cut at
 * each point may leave (all of them while a point has at most {@value #EXHAUSTIVE_WORDS} uncertain words, random
 * samples beyond), and runs the program's recovery check on each. Usable from JUnit:
 *
 * <pre>{@code
 * CrashReport report = CrashTester.forRegion(4096).run(
 *         (region, acks) -> { ...stores, persist, acks.add(recordId)... },
 *         (image, acknowledged) -> { ...recover from image, assert every acknowledged record is there... });
 * report.assertConsistent();
 * }</pre>
 */
public final class CrashTester {
    static final int EXHAUSTIVE_WORDS = 12;

    private final long regionBytes;
    private int samplesPerPoint = 256;
    private long seed = 1;
    private int damageImages;
    private final Map<String, Damage> damages = new LinkedHashMap<>(Map.of("bit flip", Damage.BIT_FLIP));

    private CrashTester(long regionBytes) {
        this.regionBytes = regionBytes;
    }

    /** A tester for workloads on a region of this many bytes (a multiple of 64). */
    public static CrashTester forRegion(long regionBytes) {
        if (regionBytes <= 0 || regionBytes % PersistenceModel.LINE != 0) {
            throw new IllegalArgumentException("the region size must be a positive multiple of 64 bytes, not "
                    + regionBytes);
        }
        return new CrashTester(regionBytes);
    }

    /** Random images per crash point where there are too many to enumerate (default 256). */
    public CrashTester samplesPerPoint(int samples) {
        this.samplesPerPoint = samples;
        return this;
    }

    /** The random seed for sampling, so a failure can be reproduced. */
    public CrashTester seed(long seed) {
        this.seed = seed;
        return this;
    }

    /**
     * Also builds {@code images} media-damage images (default none): the persisted image of a random crash point,
     * damaged by each kind in turn: a bit flip, a zeroed range, a zeroed tail, and the program's own kinds.
     */
    public CrashTester damageImages(int images, Map<String, Damage> programKinds) {
        this.damageImages = images;
        damages.put("zeroed range", Damage.ZEROED_RANGE);
        damages.put("zeroed tail", Damage.ZEROED_TAIL);
        damages.putAll(programKinds);
        return this;
    }

    /** The program under test: stores, flushes and fences on the region; acknowledges what it has made durable. */
    @FunctionalInterface
    public interface Workload {
        void run(PmemRegion region, List<Object> acknowledgements) throws Exception;
    }

    /** The program's recovery: must accept the image (throw on inconsistency) and keep every acknowledged item. */
    @FunctionalInterface
    public interface RecoveryCheck {
        void check(MemorySegment image, List<Object> acknowledged) throws Exception;
    }

    /**
     * The program's recovery of a damaged image: refuses it (and says whether anything could be salvaged) or
     * accepts it; throws when it accepted damaged data or lost an acknowledged item without counting it.
     */
    @FunctionalInterface
    public interface DamageCheck {
        DamageReport.Outcome check(MemorySegment image, List<Object> acknowledged) throws Exception;
    }

    /** Runs the workload once and checks recovery on the crash images of every crash point. */
    public CrashReport run(Workload workload, RecoveryCheck recovery) throws Exception {
        return run(workload, recovery, null);
    }

    /**
     * As {@link #run(Workload, RecoveryCheck)}, then checks {@code damage} on the media-damage images (see
     * {@link #damageImages}).
     */
    public CrashReport run(Workload workload, RecoveryCheck recovery, DamageCheck damage) throws Exception {
        List<CrashState> points = new ArrayList<>();
        List<Object> acknowledgements = new ArrayList<>();
        PersistenceModel model;
        // a machine of its own: a fence on another region's kernel must not complete this region's write-backs
        Kernel kernel = Kernels.newSimulated(Credentials.ofCurrentProcess(), List.of());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment memory = arena.allocate(regionBytes, PersistenceModel.LINE);
            model = new PersistenceModel(memory,
                    (tracked, label) -> points.add(tracked.crashState(points.size(), label, acknowledgements)));
            try (PmemRegion region = PmemRegion.simulated(kernel, memory, model)) {
                workload.run(region, acknowledgements);
            }
            points.add(model.crashState(points.size(), "after the workload", acknowledgements));
        }
        CrashReport crashes = check(points, recovery, model.redundantFlushes());
        if (damage == null || damageImages == 0) {
            return crashes;
        }
        return new CrashReport(crashes.crashPoints(), crashes.images(), crashes.failures(), crashes.missingFlushes(),
                crashes.redundantFlushes(), damage(points, damage));
    }

    private DamageReport damage(List<CrashState> points, DamageCheck check) {
        Random random = new Random(~seed); // its own stream: adding damage leaves the crash images as they were
        List<Map.Entry<String, Damage>> kinds = List.copyOf(damages.entrySet());
        long[] verdicts = new long[DamageReport.Verdict.values().length];
        long lost = 0;
        Map<String, Long> byKind = new LinkedHashMap<>();
        List<CrashReport.Failure> failures = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment image = arena.allocate(regionBytes, PersistenceModel.LINE);
            for (int k = 0; k < damageImages; k++) {
                CrashState point = points.get(random.nextInt(points.size()));
                Map.Entry<String, Damage> kind = kinds.get(k % kinds.size());
                fill(image, point, new int[0]);
                String done = kind.getKey() + ": " + kind.getValue().apply(image, Damage.used(image), random);
                byKind.merge(kind.getKey(), 1L, Long::sum);
                try {
                    DamageReport.Outcome outcome = check.check(image, point.acknowledged());
                    verdicts[outcome.verdict().ordinal()]++;
                    lost += outcome.lost();
                } catch (Exception | AssertionError e) {
                    failures.add(new CrashReport.Failure(point.point(), point.label(), done, e));
                }
            }
        }
        return new DamageReport(damageImages, verdicts[DamageReport.Verdict.ACCEPTED.ordinal()],
                verdicts[DamageReport.Verdict.SALVAGED.ordinal()], verdicts[DamageReport.Verdict.REFUSED.ordinal()],
                lost, byKind, failures);
    }

    private CrashReport check(List<CrashState> points, RecoveryCheck recovery, List<Long> redundant) {
        Random random = new Random(seed);
        long images = 0;
        List<CrashReport.Failure> failures = new ArrayList<>();
        TreeSet<Long> missing = new TreeSet<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment image = arena.allocate(regionBytes, PersistenceModel.LINE);
            for (CrashState point : points) {
                int n = point.uncertain().size();
                boolean exhaustive = n <= EXHAUSTIVE_WORDS && combinations(point) <= 1L << EXHAUSTIVE_WORDS;
                long count = exhaustive ? combinations(point) : samplesPerPoint;
                for (long k = 0; k < count; k++) {
                    int[] choice = exhaustive ? nthChoice(point, k) : randomChoice(point, random);
                    fill(image, point, choice);
                    images++;
                    try {
                        recovery.check(image, point.acknowledged());
                    } catch (Exception | AssertionError e) {
                        failures.add(new CrashReport.Failure(point.point(), point.label(), describe(point, choice),
                                e));
                        notPersisted(point, choice).forEach(missing::add);
                    }
                }
            }
        }
        return new CrashReport(points.size(), images, failures, List.copyOf(missing), redundant, DamageReport.NONE);
    }

    private static long combinations(CrashState point) {
        long total = 1;
        for (CrashState.UncertainWord w : point.uncertain()) {
            total = Math.multiplyHigh(total, w.candidates().length) != 0 ? Long.MAX_VALUE
                    : total * w.candidates().length;
        }
        return total;
    }

    private static int[] nthChoice(CrashState point, long k) {
        int[] choice = new int[point.uncertain().size()];
        for (int i = 0; i < choice.length; i++) {
            int options = point.uncertain().get(i).candidates().length;
            choice[i] = (int) (k % options);
            k /= options;
        }
        return choice;
    }

    private static int[] randomChoice(CrashState point, Random random) {
        int[] choice = new int[point.uncertain().size()];
        for (int i = 0; i < choice.length; i++) {
            choice[i] = random.nextInt(point.uncertain().get(i).candidates().length);
        }
        return choice;
    }

    private static void fill(MemorySegment image, CrashState point, int[] choice) {
        MemorySegment.copy(point.media(), 0, image, ValueLayout.JAVA_LONG_UNALIGNED, 0, point.media().length);
        for (int i = 0; i < choice.length; i++) {
            CrashState.UncertainWord w = point.uncertain().get(i);
            image.set(ValueLayout.JAVA_LONG_UNALIGNED, (long) w.index() * Long.BYTES, w.candidates()[choice[i]]);
        }
    }

    /** Words that kept an older value than the program's latest store in this image. */
    private static List<Long> notPersisted(CrashState point, int[] choice) {
        List<Long> offsets = new ArrayList<>();
        for (int i = 0; i < choice.length; i++) {
            CrashState.UncertainWord w = point.uncertain().get(i);
            if (choice[i] < w.candidates().length - 1) {
                offsets.add((long) w.index() * Long.BYTES);
            }
        }
        return offsets;
    }

    private static String describe(CrashState point, int[] choice) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < choice.length; i++) {
            CrashState.UncertainWord w = point.uncertain().get(i);
            s.append(String.format("word 0x%x: %s%s; ", (long) w.index() * Long.BYTES,
                    choice[i] == 0 ? "old" : choice[i] == w.candidates().length - 1 ? "new" : "flushed value",
                    w.flushed() ? " (flushed, not fenced)" : " (never flushed)"));
        }
        return s.toString();
    }
}
