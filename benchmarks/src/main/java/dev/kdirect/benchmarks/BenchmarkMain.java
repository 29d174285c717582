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
 * a baseline benchmark of the same run: {@code -Dkdirect.baseline=methodName}.
 */
public final class BenchmarkMain {
    private BenchmarkMain() {
    }

    public static void main(String[] args) throws RunnerException, CommandLineOptionException {
        Collection<RunResult> results = new Runner(new CommandLineOptions(args)).run();
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
            rows.add(new Row(label, run.getParams().getBenchmark().replaceAll(".*\\.", ""), scores,
                    run.getPrimaryResult().getScoreUnit()));
        }
        StringBuilder out = new StringBuilder("| benchmark | median | min | max | unit | vs " + baseline + " |\n")
                .append("|---|---:|---:|---:|---|---:|\n");
        for (Row row : rows) {
            Row base = rows.stream().filter(r -> r.method.equals(baseline) && sameParams(r, row)).findFirst()
                    .orElse(null);
            String ratio = base == null ? "" : String.format("%.2fx", row.median() / base.median());
            out.append(String.format("| %s | %.1f | %.1f | %.1f | %s | %s |%n", row.label, row.median(),
                    row.min(), row.max(), row.unit, ratio));
        }
        return out.toString();
    }

    private static boolean sameParams(Row a, Row b) {
        return a.label.substring(a.method.length()).equals(b.label.substring(b.method.length()));
    }

    private record Row(String label, String method, List<Double> scores, String unit) {
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
