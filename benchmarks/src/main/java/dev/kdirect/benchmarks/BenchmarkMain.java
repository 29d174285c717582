package dev.kdirect.benchmarks;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;

/**
 * Runs JMH with its usual command-line options, then prints a Markdown table of MEDIANS over all measured
 * iterations of all forks (robust on a shared, noisy machine) with min and max, and each benchmark's ratio to
 * a baseline benchmark of the same run: {@code -Dkdirect.baseline=methodName}. Several benchmark classes can
 * each have their own baseline: {@code -Dkdirect.baseline=pkeySetJna,pkeys}; a row's baseline is the listed
 * method of its own class with the same parameters. Exits with 1 when no benchmark produced a result (JMH has
 * printed why, e.g. a setup that refused to run).
 */
public final class BenchmarkMain {
    private BenchmarkMain() {
    }

    public static void main(String[] args) throws RunnerException, CommandLineOptionException {
        Collection<RunResult> results = new Runner(new CommandLineOptions(args)).run();
        if (results.isEmpty()) {
            System.err.println("BenchmarkMain: no benchmark produced a result; see JMH's output above");
            System.exit(1);
        }
        System.out.println(table(results, System.getProperty("kdirect.baseline", "")));
    }

    static String table(Collection<RunResult> results, String baseline) {
        List<Row> rows = new ArrayList<>();
        for (RunResult run : results) {
            List<Double> scores = new ArrayList<>();
            for (BenchmarkResult fork : run.getBenchmarkResults()) {
                for (IterationResult iteration : fork.getIterationResults()) {
                    scores.add(iteration.getPrimaryResult().getScore());
                }
            }
            String label = run.getParams().getBenchmark().replaceAll(".*\\.", "");
            for (String key : run.getParams().getParamsKeys()) {
                label += " " + key + "=" + run.getParams().getParam(key);
            }
            String benchmark = run.getParams().getBenchmark();
            rows.add(new Row(label, benchmark.replaceAll(".*\\.", ""), benchmark.replaceAll("\\.[^.]*$", ""),
                    scores, run.getPrimaryResult().getScoreUnit()));
        }
        List<String> baselines = List.of(baseline.split(","));
        StringBuilder out = new StringBuilder("| benchmark | median | min | max | unit | vs " + baseline + " |\n")
                .append("|---|---:|---:|---:|---|---:|\n");
        for (Row row : rows) {
            Row base = rows.stream().filter(r -> baselines.contains(r.method) && r.owner.equals(row.owner)
                    && sameParams(r, row)).findFirst().orElse(null);
            String ratio = base == null ? "" : ratio(row.median() / base.median());
            out.append(String.format("| %s | %s | %s | %s | %s | %s |%n", row.label, number(row.median()),
                    number(row.min()), number(row.max()), row.unit, ratio));
        }
        return out.toString();
    }

    /** One decimal, as before, but three significant digits below 1 so that small scores do not print as 0.0. */
    private static String number(double value) {
        return Math.abs(value) >= 1 || value == 0 ? String.format("%.1f", value) : String.format("%.3g", value);
    }

    /** Two decimals, but two significant digits below 0.01. */
    private static String ratio(double value) {
        return (Math.abs(value) >= 0.01 ? String.format("%.2f", value) : String.format("%.2g", value)) + "x";
    }

    private static boolean sameParams(Row a, Row b) {
        return a.label.substring(a.method.length()).equals(b.label.substring(b.method.length()));
    }

    private record Row(String label, String method, String owner, List<Double> scores, String unit) {
        double median() {
            List<Double> sorted = scores.stream().sorted().toList();
            int n = sorted.size();
            return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
        }

        double min() {
            return scores.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
        }

        double max() {
            return scores.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
        }
    }
}
