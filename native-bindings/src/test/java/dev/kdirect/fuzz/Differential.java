package dev.kdirect.fuzz;

import dev.kdirect.Binding;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.contract.ContractKernels;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Differential fuzzing: random programs run on the real kernel and on the simulated one, compared call by call
 * (the value or the errno of each call). A disagreement is shrunk to a minimal program (no step can be removed and
 * the kernels still disagree) and printed as a ready-to-paste test; the model's refusals (UnsupportedOperationException)
 * are counted by their message, as the fidelity table reports them.
 */
public final class Differential {
    /** Programs per run, unless {@code -Dkdirect.fuzz.programs} says otherwise ({@code ci/test --long}: 10,000). */
    public static final int PROGRAMS = Integer.getInteger("kdirect.fuzz.programs", 1000);
    /** The run's seed, {@code -Dkdirect.fuzz.seed}; program i of a run uses {@link #programSeed}. */
    public static final long SEED = Long.getLong("kdirect.fuzz.seed", 20261207L);
    private static final int PROGRESS_EVERY = 500;

    private Differential() {
    }

    /** The seed of program {@code index} of a run seeded {@code seed}. */
    public static long programSeed(long seed, int index) {
        return seed * 0x9E3779B97F4A7C15L + index;
    }

    /**
     * Runs {@code programs} programs of {@code fuzzer} on {@code real} and on fresh models, with files under
     * {@code dir}; prints progress and each disagreement's reproduction on {@code log}. Writes the report of a run
     * against a real kernel as JSON into the directory {@code -Dkdirect.fuzz.reports} names, if any.
     */
    public static <W extends AutoCloseable> FuzzReport run(Fuzzer<W> fuzzer, Kernel real, long seed, int programs,
            Path dir, PrintStream log) throws Exception {
        long started = System.nanoTime();
        long operations = 0;
        int interfered = 0;
        Map<String, Integer> refused = new TreeMap<>();
        Map<String, Integer> errnos = new TreeMap<>();
        List<String> disagreements = new ArrayList<>();
        for (int index = 0; index < programs; index++) {
            List<Step<W>> program = fuzzer.program(new Random(programSeed(seed, index)));
            Verdict verdict = compare(fuzzer, program, real, dir, errnos);
            operations += verdict.compared();
            switch (verdict.kind()) {
                case REFUSED -> refused.merge(verdict.model(), 1, Integer::sum);
                case INTERFERED -> interfered++;
                case DISAGREED -> {
                    String reproduction = reproduction(fuzzer, seed, index, program, real, dir, verdict);
                    log.println(reproduction);
                    disagreements.add(reproduction);
                }
                case AGREED -> { }
            }
            if ((index + 1) % PROGRESS_EVERY == 0 && index + 1 < programs) {
                log.printf("fuzz %s: %d of %d programs, %d disagreements, %d refused%n", fuzzer.name(), index + 1,
                        programs, disagreements.size(), refused.values().stream().mapToInt(i -> i).sum());
            }
        }
        FuzzReport report = new FuzzReport(fuzzer.name(), kernelRelease(real), seed, programs, operations, refused,
                interfered, disagreements, (System.nanoTime() - started) / 1e9, errnos);
        log.println(report.summary());
        String reports = System.getProperty("kdirect.fuzz.reports");
        if (reports != null && real.binding().isReal()) { // the table compares the model with kernels only
            Path file = Path.of(reports).resolve(fuzzer.name() + "-" + report.kernel() + ".json");
            Files.createDirectories(file.getParent());
            Files.writeString(file, report.toJson() + "\n");
        }
        return report;
    }

    /**
     * Runs one program on both kernels (for a reproduction pasted into a test) and fails with the first
     * disagreement; a refusal by the model passes, as the model said it cannot decide.
     */
    public static <W extends AutoCloseable> void assertAgree(Fuzzer<W> fuzzer, List<Step<W>> program)
            throws Exception {
        Verdict verdict = onBothKernels(fuzzer, program);
        if (verdict.kind() == Verdict.Kind.DISAGREED) {
            throw new AssertionError("step " + verdict.step() + " (" + program.get(verdict.step()).java()
                    + "): real kernel " + verdict.real() + ", simulated " + verdict.model());
        }
    }

    /**
     * Runs one program on both kernels and fails unless they agree up to step {@code step}, which the model refuses
     * with a reason containing {@code rule}: where the model must stay loud.
     */
    public static <W extends AutoCloseable> void assertRefused(Fuzzer<W> fuzzer, List<Step<W>> program, int step,
            String rule) throws Exception {
        Verdict verdict = onBothKernels(fuzzer, program);
        if (verdict.kind() != Verdict.Kind.REFUSED || verdict.step() != step || !verdict.model().contains(rule)) {
            throw new AssertionError("expected the model to refuse step " + step + " (" + program.get(step).java()
                    + ") for " + rule + "; got " + verdict);
        }
    }

    private static <W extends AutoCloseable> Verdict onBothKernels(Fuzzer<W> fuzzer, List<Step<W>> program)
            throws Exception {
        Kernel real = ContractKernels.kernel(Binding.FFM, fuzzer.feature());
        Path dir = Files.createTempDirectory("kdirect-fuzz-");
        try {
            return compare(fuzzer, program, real, dir);
        } finally {
            deleteTree(dir);
        }
    }

    /** Runs {@code program} in a fresh world on each kernel, step by step, until they differ or it ends. */
    static <W extends AutoCloseable> Verdict compare(Fuzzer<W> fuzzer, List<Step<W>> program, Kernel real,
            Path dir) throws Exception {
        return compare(fuzzer, program, real, dir, new TreeMap<>());
    }

    /** {@link #compare}, counting in {@code errnos} the real kernel's errors by name. */
    static <W extends AutoCloseable> Verdict compare(Fuzzer<W> fuzzer, List<Step<W>> program, Kernel real,
            Path dir, Map<String, Integer> errnos) throws Exception {
        Path realDir = Files.createTempDirectory(dir, "real-");
        Path modelDir = Files.createTempDirectory(dir, "model-");
        try (W realWorld = fuzzer.open(real, realDir); W modelWorld = fuzzer.open(fuzzer.model(), modelDir)) {
            for (int i = 0; i < program.size(); i++) {
                Step<W> step = program.get(i);
                String interference = fuzzer.interference(realWorld, step);
                if (interference != null) {
                    return new Verdict(Verdict.Kind.INTERFERED, i, interference, null);
                }
                String realOutcome = realOutcome(step, realWorld, program, errnos);
                String modelOutcome;
                try {
                    modelOutcome = step.apply(modelWorld);
                } catch (KernelException e) {
                    modelOutcome = e.errnoName();
                } catch (UnsupportedOperationException e) {
                    return new Verdict(Verdict.Kind.REFUSED, i, realOutcome, refusalReason(e));
                } catch (RuntimeException | Error e) {
                    modelOutcome = "the model threw " + e; // never an outcome of the kernel's
                }
                if (!realOutcome.equals(modelOutcome)) {
                    String during = fuzzer.interferenceDuring(realWorld, step);
                    if (during != null) {
                        return new Verdict(Verdict.Kind.INTERFERED, i, during, null);
                    }
                    return new Verdict(Verdict.Kind.DISAGREED, i, realOutcome, modelOutcome);
                }
            }
            return new Verdict(Verdict.Kind.AGREED, program.size(), null, null);
        } finally {
            deleteTree(realDir);
            deleteTree(modelDir);
        }
    }

    private static <W> String realOutcome(Step<W> step, W world, List<Step<W>> program,
            Map<String, Integer> errnos) throws Exception {
        try {
            return step.apply(world);
        } catch (KernelException e) {
            errnos.merge(e.errnoName(), 1, Integer::sum);
            return e.errnoName();
        } catch (RuntimeException e) {
            throw new IllegalStateException("the fuzzer's step " + step.java() + " failed on the real kernel (a bug"
                    + " in the fuzzer, not the model); its program: " + program.stream().map(Step::java).toList(), e);
        }
    }

    /** The refusal's message without the values that vary from program to program, so refusals group by rule. */
    private static String refusalReason(UnsupportedOperationException e) {
        String message = String.valueOf(e.getMessage());
        // a number alone is a value; one in a name or a version ("4-tuple", "Linux 6.11") is kept
        return message.replaceAll("0x[0-9a-fA-F]+", "0x…").replaceAll("(?<![\\w.-])\\d+(?![\\w.-])", "N");
    }

    /** Shrinks a disagreeing program and prints it as a test method. */
    private static <W extends AutoCloseable> String reproduction(Fuzzer<W> fuzzer, long seed, int index,
            List<Step<W>> program, Kernel real, Path dir, Verdict first) throws Exception {
        List<Step<W>> minimal = shrink(fuzzer, program, real, dir);
        Verdict verdict = compare(fuzzer, minimal, real, dir);
        if (verdict.kind() != Verdict.Kind.DISAGREED) {
            verdict = new Verdict(first.kind(), first.step(), first.real(), first.model() + " (did not repeat)");
        }
        String steps = minimal.stream().map(s -> "                " + s.java()).collect(Collectors.joining(",\n"));
        String className = fuzzer.getClass().getSimpleName();
        return String.format("""
                fuzz %s: DISAGREEMENT in program %d of seed %d, shrunk from %d steps to %d: step %d gave \
                real %s, simulated %s. Reproduce with this test (in package %s):
                    @Test
                    void %sSeed%dProgram%d() throws Exception {
                        Differential.assertAgree(new %s(), List.of(
                %s));
                    }""", fuzzer.name(), index, seed, program.size(), minimal.size(), verdict.step(), verdict.real(),
                verdict.model(), Differential.class.getPackageName(), identifier(fuzzer.name()), seed, index, className,
                steps);
    }

    /** A fuzzer's name as the start of a Java method name: "tcp-repair" is "tcpRepair". */
    static String identifier(String name) {
        StringBuilder id = new StringBuilder();
        boolean upper = false;
        for (char c : name.toCharArray()) {
            if (Character.isLetterOrDigit(c)) {
                id.append(upper ? Character.toUpperCase(c) : c);
                upper = false;
            } else {
                upper = id.length() > 0;
            }
        }
        return id.toString();
    }

    /**
     * The program cut after its disagreeing step, then without every step whose removal keeps a disagreement, until
     * no single step can go: a 1-minimal program.
     */
    static <W extends AutoCloseable> List<Step<W>> shrink(Fuzzer<W> fuzzer, List<Step<W>> program, Kernel real,
            Path dir) throws Exception {
        Verdict verdict = compare(fuzzer, program, real, dir);
        if (verdict.kind() != Verdict.Kind.DISAGREED) {
            return program; // it did not repeat (the real process's state changed); print it whole
        }
        List<Step<W>> current = List.copyOf(program.subList(0, verdict.step() + 1));
        boolean removed = true;
        while (removed) {
            removed = false;
            for (int i = current.size() - 1; i >= 0 && current.size() > 1; i--) {
                List<Step<W>> candidate = new ArrayList<>(current);
                candidate.remove(i);
                Verdict v = compare(fuzzer, candidate, real, dir);
                if (v.kind() == Verdict.Kind.DISAGREED) {
                    current = List.copyOf(candidate.subList(0, v.step() + 1));
                    removed = true;
                    i = Math.min(i, current.size());
                }
            }
        }
        return current;
    }

    /** The running kernel's release, as {@code uname -r} prints it ("simulated" when the real side is the model). */
    static String kernelRelease(Kernel real) {
        return real.binding() == Binding.SIMULATED ? "simulated"
                : dev.kdirect.KernelRelease.running().text();
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> tree = Files.walk(root)) {
            for (Path p : tree.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
