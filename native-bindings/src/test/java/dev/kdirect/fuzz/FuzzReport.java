package dev.kdirect.fuzz;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * What a differential run found, for the test's assertion, its log line and the fidelity table (docs/fidelity.md).
 *
 * @param fuzzer the fuzzer's name
 * @param kernel the real kernel's release ({@code uname -r})
 * @param seed the run's seed
 * @param programs programs run
 * @param operations calls compared between the kernels
 * @param refused programs the model refused part-way (UnsupportedOperationException), by the refusal's message
 * @param interfered programs the real world could not finish safely
 * @param disagreements each disagreement, shrunk, as a ready-to-paste test
 * @param errnos how often the real kernel answered each errno (so a test can see its programs reach the errors)
 * @param seconds the run's wall time
 */
public record FuzzReport(String fuzzer, String kernel, long seed, int programs, long operations,
        Map<String, Integer> refused, int interfered, List<String> disagreements, Map<String, Integer> errnos, double seconds) {

    public int refusedPrograms() {
        return refused.values().stream().mapToInt(Integer::intValue).sum();
    }

    /** The report as one line of JSON (refusal messages cut to 200 characters). */
    public String toJson() {
        String refusals = refused.entrySet().stream()
                .map(e -> quote(e.getKey()) + ":" + e.getValue()).collect(Collectors.joining(","));
        return "{\"fuzzer\":" + quote(fuzzer) + ",\"kernel\":" + quote(kernel) + ",\"seed\":" + seed
                + ",\"programs\":" + programs + ",\"operations\":" + operations + ",\"disagreements\":"
                + disagreements.size() + ",\"refused\":" + refusedPrograms() + ",\"interfered\":" + interfered
                + ",\"seconds\":" + String.format(java.util.Locale.ROOT, "%.1f", seconds)
                + ",\"refusals\":{" + refusals + "},\"errnos\":{" + errnos.entrySet().stream()
                .map(e -> quote(e.getKey()) + ":" + e.getValue()).collect(Collectors.joining(",")) + "}}";
    }

    /** One line for the test log. */
    public String summary() {
        return String.format(java.util.Locale.ROOT, "fuzz %s on %s: %d programs, %d calls compared, %d disagreements,"
                + " %d refused by the model (%.1f%%), %d interfered with, seed %d, %.1f s", fuzzer, kernel, programs,
                operations, disagreements.size(), refusedPrograms(), 100.0 * refusedPrograms() / Math.max(1, programs),
                interfered, seed, seconds);
    }

    private static String quote(String s) {
        String cut = s.length() > 200 ? s.substring(0, 200) : s;
        StringBuilder json = new StringBuilder("\"");
        for (char c : cut.toCharArray()) {
            switch (c) {
                case '"' -> json.append("\\\"");
                case '\\' -> json.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        json.append(String.format("\\u%04x", (int) c));
                    } else {
                        json.append(c);
                    }
                }
            }
        }
        return json.append('"').toString();
    }
}
