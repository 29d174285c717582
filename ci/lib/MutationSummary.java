import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * ci/mutation's summary: reads PIT's mutations.xml files and writes the score table.
 *
 * <p>Arguments: OUT_DIR, then MODULE=REPORT.xml[,REPORT.xml...] per module. A module mutated by several runs (the
 * simulated kernel, run against the tests of every module that uses it) merges them: a mutant counts as killed
 * when any run killed it, survived when a run covered it and none killed it.
 *
 * <p>Writes OUT_DIR/summary.tsv (the table), OUT_DIR/MODULE-mutations.csv (every merged mutant) and
 * OUT_DIR/MODULE-survivors.txt (the survivors and the uncovered, by class), and prints the table.
 */
public final class MutationSummary {
    /** Best first: the merged status of a mutant is the best over its runs. */
    private static final List<String> RANK = List.of("KILLED", "TIMED_OUT", "MEMORY_ERROR", "RUN_ERROR",
            "SURVIVED", "NO_COVERAGE", "NON_VIABLE", "STARTED", "NOT_STARTED");

    record Mutant(String clazz, String method, int line, String mutator, String indexes, String description,
            String status, String killingTest) {
        /** PIT's identity of a mutant: the same in every run over the same class files. */
        String key() {
            return clazz + "|" + method + "|" + mutator + "|" + indexes;
        }
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]);
        Files.createDirectories(out);
        List<String> rows = new ArrayList<>();
        rows.add(String.join("\t", "module", "mutants", "killed", "survived", "no_coverage", "timed_out", "other",
                "score", "test_strength"));
        for (int i = 1; i < args.length; i++) {
            String[] moduleAndFiles = args[i].split("=", 2);
            String module = moduleAndFiles[0];
            Map<String, Mutant> merged = new LinkedHashMap<>();
            for (String file : moduleAndFiles[1].split(",")) {
                for (Mutant m : read(Path.of(file))) {
                    merged.merge(m.key(), m, (a, b) -> rank(b.status) < rank(a.status) ? b : a);
                }
            }
            rows.add(row(module, merged.values()));
            writeCsv(out.resolve(module + "-mutations.csv"), merged.values());
            writeSurvivors(out.resolve(module + "-survivors.txt"), merged.values());
            writeClasses(out.resolve(module + "-classes.tsv"), merged.values());
        }
        Files.write(out.resolve("summary.tsv"), rows);
        print(System.out, rows);
    }

    private static int rank(String status) {
        int r = RANK.indexOf(status);
        return r < 0 ? RANK.size() : r;
    }

    private static List<Mutant> read(Path file) throws Exception {
        var doc = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(file.toFile());
        var nodes = doc.getElementsByTagName("mutation");
        List<Mutant> mutants = new ArrayList<>();
        for (int i = 0; i < nodes.getLength(); i++) {
            Element e = (Element) nodes.item(i);
            mutants.add(new Mutant(text(e, "mutatedClass"), text(e, "mutatedMethod") + text(e, "methodDescription"),
                    Integer.parseInt(text(e, "lineNumber")), text(e, "mutator"), indexes(e), text(e, "description"),
                    e.getAttribute("status"), text(e, "killingTest")));
        }
        return mutants;
    }

    private static String indexes(Element e) {
        var nodes = e.getElementsByTagName("index");
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < nodes.getLength(); i++) {
            s.append(nodes.item(i).getTextContent()).append(' ');
        }
        return s.toString();
    }

    private static String text(Element e, String tag) {
        Node n = e.getElementsByTagName(tag).item(0);
        return n == null ? "" : n.getTextContent();
    }

    private static String row(String module, Iterable<Mutant> mutants) {
        int total = 0, killed = 0, survived = 0, noCoverage = 0, timedOut = 0, other = 0;
        for (Mutant m : mutants) {
            total++;
            switch (m.status) {
                case "KILLED" -> killed++;
                case "SURVIVED" -> survived++;
                case "NO_COVERAGE" -> noCoverage++;
                case "TIMED_OUT" -> timedOut++;
                default -> other++;
            }
        }
        int covered = total - noCoverage;
        return String.join("\t", module, "" + total, "" + killed, "" + survived, "" + noCoverage, "" + timedOut,
                "" + other, percent(killed + timedOut, total), percent(killed + timedOut, covered));
    }

    private static String percent(int part, int whole) {
        return whole == 0 ? "-" : String.format(Locale.ROOT, "%.1f%%", 100.0 * part / whole);
    }

    private static void writeCsv(Path file, Iterable<Mutant> mutants) throws IOException {
        List<String> lines = new ArrayList<>();
        lines.add("class,method,line,mutator,description,status,killing_test");
        for (Mutant m : mutants) {
            lines.add(String.join(",", m.clazz, csv(m.method), "" + m.line, shortMutator(m.mutator),
                    csv(m.description), m.status, csv(m.killingTest)));
        }
        Files.write(file, lines);
    }

    private static void writeSurvivors(Path file, Iterable<Mutant> mutants) throws IOException {
        Map<String, List<String>> byClass = new TreeMap<>();
        for (Mutant m : mutants) {
            if (m.status.equals("SURVIVED") || m.status.equals("NO_COVERAGE")) {
                String method = m.method.substring(0, m.method.indexOf('('));
                byClass.computeIfAbsent(m.clazz, c -> new ArrayList<>()).add(String.format(Locale.ROOT,
                        "  %-11s line %4d %s: %s", m.status, m.line, method, m.description));
            }
        }
        List<String> lines = new ArrayList<>();
        byClass.forEach((clazz, list) -> {
            lines.add(clazz + " (" + list.size() + ")");
            lines.addAll(list);
        });
        Files.write(file, lines);
    }

    /** The table again, one row per top-level class. */
    private static void writeClasses(Path file, Iterable<Mutant> mutants) throws IOException {
        Map<String, List<Mutant>> byClass = new TreeMap<>();
        for (Mutant m : mutants) {
            String top = m.clazz.contains("$") ? m.clazz.substring(0, m.clazz.indexOf('$')) : m.clazz;
            byClass.computeIfAbsent(top.substring(top.lastIndexOf('.') + 1), c -> new ArrayList<>()).add(m);
        }
        List<String> lines = new ArrayList<>();
        lines.add(String.join("\t", "class", "mutants", "killed", "survived", "no_coverage", "timed_out", "other",
                "score", "test_strength"));
        byClass.forEach((clazz, list) -> lines.add(row(clazz, list)));
        Files.write(file, lines);
    }

    private static String shortMutator(String mutator) {
        return mutator.substring(mutator.lastIndexOf('.') + 1);
    }

    private static String csv(String s) {
        return "\"" + s.replace("\"", "\"\"") + "\"";
    }

    private static void print(PrintStream to, List<String> rows) {
        for (String r : rows) {
            String[] c = r.split("\t");
            to.printf(Locale.ROOT, "%-16s %8s %7s %9s %12s %10s %6s %7s %14s%n", (Object[]) c);
        }
    }
}
