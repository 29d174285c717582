package dev.kdirect.fuzz;

import dev.kdirect.Binding;
import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import dev.kdirect.contract.ChildJvm;
import dev.kdirect.contract.ContractKernels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A differential run in a child JVM, for fuzzers whose real world must start from a fresh process (protection keys,
 * once a process used them, stay taken) or may bring the process down (memory failures). The child prints the
 * run's log; its last line is the report as JSON after {@value #REPORT}.
 */
public final class FuzzInChildJvm {
    static final String REPORT = "fuzz-report ";
    private static final long TIMEOUT_PER_PROGRAM_MS = 600; // under TCG; a program is tens of calls

    private FuzzInChildJvm() {
    }

    /**
     * Runs {@link Differential#PROGRAMS} programs of {@code fuzzer} (seed {@link Differential#SEED}) in a child JVM;
     * what it printed. The feature must be real here (the caller checks, through {@link ContractKernels#kernel}).
     */
    public static String run(Class<? extends Fuzzer<?>> fuzzer) throws Exception {
        List<String> options = new ArrayList<>();
        for (String property : List.of("kdirect.fuzz.reports", "kdirect.require")) {
            if (System.getProperty(property) != null) {
                options.add("-D" + property + "=" + System.getProperty(property));
            }
        }
        long timeout = 120 + Differential.PROGRAMS * TIMEOUT_PER_PROGRAM_MS / 1000;
        return ChildJvm.run(FuzzInChildJvm.class, List.of(fuzzer, Differential.class,
                org.assertj.core.api.Assertions.class, org.junit.jupiter.api.Assumptions.class), options, timeout,
                fuzzer.getName(), Long.toString(Differential.SEED), Integer.toString(Differential.PROGRAMS));
    }

    /** The child: FUZZER-CLASS SEED PROGRAMS. */
    public static void main(String[] args) throws Exception {
        Fuzzer<?> fuzzer = (Fuzzer<?>) Class.forName(args[0]).getConstructor().newInstance();
        Kernel real = Kernels.of(Binding.FFM);
        Path dir = Files.createTempDirectory("kdirect-fuzz-");
        FuzzReport report = Differential.run(fuzzer, real, Long.parseLong(args[1]), Integer.parseInt(args[2]), dir,
                System.out);
        System.out.println(REPORT + report.toJson());
        System.out.flush();
        System.exit(0); // the fuzzer's worker threads are not waited for
    }

    /** A number in the report a child printed last ({@code "disagreements"}, {@code "refused"}, ...). */
    public static int field(String childOutput, String name) {
        String json = childOutput.lines().filter(l -> l.startsWith(REPORT)).reduce((a, b) -> b)
                .orElseThrow(() -> new AssertionError("the child printed no report:\n" + childOutput));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"" + name + "\":(\\d+)").matcher(json);
        if (!m.find()) {
            throw new AssertionError("no " + name + " in the report " + json);
        }
        return Integer.parseInt(m.group(1));
    }
}
