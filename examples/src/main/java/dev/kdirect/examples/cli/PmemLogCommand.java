package dev.kdirect.examples.cli;

import dev.kdirect.KernelException;
import dev.kdirect.examples.pmem.LogCrashTest;
import dev.kdirect.examples.pmem.PmemLog;
import dev.kdirect.pmem.PmemRegion;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kdirect pmem-log}: a crash-consistent append-only log on persistent memory, and its crash test. */
@Command(name = "pmem-log", mixinStandardHelpOptions = true,
        description = {"Appends records to a crash-consistent log in a file mapped as persistent memory (MAP_SYNC"
                + " on a DAX file system, msync elsewhere), then recovers it.",
            "With --crash-test N it instead runs the log on the simulated machine and checks recovery on about N"
                + " post-crash images: no acknowledged record lost, no torn record accepted.",
            "Exit status: 0, or 1 when the crash test found an inconsistency."})
final class PmemLogCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--file", paramLabel = "PATH",
            description = "The log file (default: kdirect-pmem.log in $KDIRECT_PMEM_DIR, else in the temp dir).")
    Path file;

    @Option(names = "--size", paramLabel = "BYTES", defaultValue = "1048576", description = "The log's size.")
    long size;

    @Option(names = "--records", paramLabel = "N", defaultValue = "100", description = "Records to append.")
    int records;

    @Option(names = "--strict", description = "Refuse a file that is not on a DAX file system.")
    boolean strict;

    @Option(names = "--crash-test", paramLabel = "IMAGES",
            description = "Check recovery on about this many simulated crash images instead.")
    Integer crashImages;

    @Option(names = "--seed", defaultValue = "1", description = "The crash test's random seed.")
    long seed;

    @Option(names = "--json", description = "Print the outcome as JSON.")
    boolean json;

    @Option(names = "--print-acks", description = "Print \"acknowledged N\" after each durable append (for power-cut"
            + " tests: every record printed must survive).")
    boolean printAcks;

    @Override
    public Integer call() throws Exception {
        return crashImages != null ? crashTest() : appendAndRecover();
    }

    private int appendAndRecover() throws KernelException {
        Path target = file != null ? file : Path.of(System.getenv().getOrDefault("KDIRECT_PMEM_DIR",
                System.getProperty("java.io.tmpdir")), "kdirect-pmem.log");
        Map<String, Object> r = new LinkedHashMap<>();
        try (PmemRegion region = PmemRegion.map(target, size, strict)) {
            PmemLog log = PmemLog.open(region);
            int before = PmemLog.recover(region.readOnlyView()).size();
            PrintWriter err = spec.commandLine().getErr();
            long started = System.nanoTime();
            PrintWriter out = spec.commandLine().getOut();
            for (int i = 0; i < records; i++) {
                log.append(("record " + (before + i) + " of kdirect pmem-log").getBytes(StandardCharsets.US_ASCII));
                if (printAcks) {
                    out.println("acknowledged " + (before + i + 1));
                    out.flush();
                }
                if (records >= 10_000 && (i + 1) % (records / 10) == 0) {
                    err.printf("pmem-log: %d of %d records appended%n", i + 1, records);
                    err.flush();
                }
            }
            long elapsed = System.nanoTime() - started;
            r.put("file", target.toString());
            r.put("granularity", region.granularity().name());
            r.put("reason", region.granularityReason());
            r.put("recordsBefore", before);
            r.put("appended", records);
            r.put("recordsAfter", PmemLog.recover(region.readOnlyView()).size());
            r.put("microsPerAppend", records == 0 ? 0 : elapsed / 1000.0 / records);
            r.put("bytesUsed", log.end());
        }
        print(r, String.format("pmem-log: %s%n  %s: %s%n  %d records found, %d appended durably, %d recovered;"
                + " %.1f us per append (one run, not a benchmark)", r.get("file"), r.get("granularity"),
                r.get("reason"), (Integer) r.get("recordsBefore"), records, (Integer) r.get("recordsAfter"),
                (Double) r.get("microsPerAppend")));
        return 0;
    }

    private int crashTest() throws Exception {
        LogCrashTest.Result result = LogCrashTest.run(crashImages, records, seed);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("records", records);
        r.put("crashPoints", result.report().crashPoints());
        r.put("images", result.report().images());
        r.put("failedImages", result.report().failures().size());
        r.put("lostAcknowledged", result.lostAcknowledged());
        r.put("tornAccepted", result.tornAccepted());
        r.put("redundantFlushes", result.report().redundantFlushes().size());
        print(r, String.format("pmem-log crash test (simulated machine, seed %d): %d appends, %d crash images at %d"
                + " crash points: %d lost acknowledged records, %d torn records accepted, %d redundant flushes",
                seed, records, result.report().images(), result.report().crashPoints(), result.lostAcknowledged(),
                result.tornAccepted(), result.report().redundantFlushes().size())
                + (result.report().consistent() ? "" : "\n  " + result.report()));
        return result.report().consistent() ? 0 : 1;
    }

    private void print(Map<String, Object> result, String text) {
        PrintWriter out = spec.commandLine().getOut();
        out.println(json ? Json.write(result) : text);
        out.flush();
    }
}
