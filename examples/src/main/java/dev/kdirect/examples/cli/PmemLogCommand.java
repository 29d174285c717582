package dev.kdirect.examples.cli;

import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.Kernels;
import dev.kdirect.OpenFlags;
import dev.kdirect.UserFiles;
import dev.kdirect.examples.pmem.DamagedLogException;
import dev.kdirect.examples.pmem.LogCrashTest;
import dev.kdirect.examples.pmem.LogFullException;
import dev.kdirect.examples.pmem.PmemLog;
import dev.kdirect.pmem.DamageReport;
import dev.kdirect.pmem.PmemRegion;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kdirect pmem-log}: a crash-consistent append-only log on persistent memory, and its crash test. */
@Command(name = "pmem-log", mixinStandardHelpOptions = true,
        description = {"Appends records to a crash-consistent log (format v2) in a file mapped as persistent memory"
                + " (MAP_SYNC on a DAX file system, msync elsewhere), then recovers it. A new or all-zero file is"
                + " formatted; any other is recovered or refused, never rewritten by opening it.",
            "With --crash-test it instead runs the log on the simulated machine and checks recovery on the"
                + " post-crash images of every crash point (no acknowledged record lost, no torn record accepted):"
                + " all of a point's images where it has at most 4096, else --samples random ones; then on"
                + " --damage-images media-damage images (nothing damaged accepted, every loss counted). The report"
                + " gives the exact numbers of images.",
            "The file is never opened through a symbolic link, a new one is created 0600 with O_EXCL, and an"
                + " existing one must be a regular file of yours."},
        exitCodeListHeading = "Exit status:%n",
        exitCodeList = {FriendlyErrors.EXIT_0, "1:the crash test found an inconsistency",
            "2:bad options, or --size differs from the file's size", FriendlyErrors.EXIT_UNAVAILABLE,
            FriendlyErrors.EXIT_ERRNO, "5:the log is damaged, format v1 or not a log: refused, nothing written"
                + " (--salvage reports what can be read)", FriendlyErrors.EXIT_UNSAFE, "7:the log is full",
            FriendlyErrors.EXIT_BUG})
final class PmemLogCommand implements Callable<Integer> {
    static final int DAMAGED = 5;
    static final int FULL = 7;
    static final String DEFAULT_NAME = "kdirect-pmem.log";

    @Spec
    CommandSpec spec;

    @Option(names = "--file", paramLabel = "PATH",
            description = "The log file (default: " + DEFAULT_NAME + " in -Dkdirect.pmem.dir or $KDIRECT_PMEM_DIR,"
                    + " else in $XDG_RUNTIME_DIR, else in a directory kdirect-UID of the temp dir, created 0700).")
    Path file;

    @Option(names = "--size", paramLabel = "BYTES", defaultValue = "1048576",
            description = "The log's size, whole pages; an existing log's must match (default ${DEFAULT-VALUE}).")
    long size;

    @Option(names = "--records", paramLabel = "N", defaultValue = "100", description = "Records to append.")
    int records;

    @Option(names = "--strict", description = "Refuse a file that is not on a DAX file system.")
    boolean strict;

    @Option(names = "--salvage", description = "Read the log without writing anything and report which records"
            + " can be read and which are lost. Exit 0 when the log is intact, 5 when it is damaged.")
    boolean salvage;

    @Option(names = "--crash-test", description = "Check recovery on the simulated machine's crash and"
            + " media-damage images instead (see --samples and --damage-images).")
    boolean crashTest;

    @Option(names = "--samples", paramLabel = "N", defaultValue = "256", description = "For --crash-test: random"
            + " images at each crash point that has more than 4096 (default ${DEFAULT-VALUE}); 1 or more.")
    int samples;

    @Option(names = "--damage-images", paramLabel = "N", defaultValue = "1000",
            description = "For --crash-test: media-damage images (default ${DEFAULT-VALUE}); 1 or more.")
    int damageImages;

    @Option(names = "--seed", defaultValue = "1", description = "The crash test's random seed.")
    long seed;

    @Option(names = "--json", description = "Print the outcome as JSON.")
    boolean json;

    @Option(names = "--print-acks", description = "Print \"acknowledged N\" after each durable append (for power-cut"
            + " tests: every record printed must survive).")
    boolean printAcks;

    @Override
    public Integer call() throws Exception {
        if (records < 0) {
            throw new IllegalArgumentException("--records takes a count, 0 or more, not " + records);
        }
        if (samples < 1 || damageImages < 1) {
            throw new IllegalArgumentException("--samples and --damage-images take a count, 1 or more, not "
                    + (samples < 1 ? samples : damageImages));
        }
        if (crashTest) {
            return crashTest();
        }
        Kernel kernel = Kernels.forFeature(Feature.DAX_PMEM);
        Path target = file != null ? file : defaultDirectory(kernel).resolve(DEFAULT_NAME);
        return salvage ? salvage(kernel, target) : appendAndRecover(kernel, target);
    }

    /** {@code kdirect.pmem.dir} or {@code $KDIRECT_PMEM_DIR} where set (a DAX mount), else the user's own directory. */
    static Path defaultDirectory(Kernel kernel) throws KernelException {
        String dir = System.getProperty("kdirect.pmem.dir", System.getenv().getOrDefault("KDIRECT_PMEM_DIR", ""));
        return !dir.isBlank() ? Path.of(dir)
                : UserFiles.userDirectory(kernel, System.getenv(), Path.of(System.getProperty("java.io.tmpdir")));
    }

    private int appendAndRecover(Kernel kernel, Path target) throws KernelException, IOException {
        if (Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS) && Files.size(target) != 0
                && Files.size(target) != size) {
            throw new IllegalArgumentException("--size is " + size + ", but " + target + " is " + Files.size(target)
                    + " bytes: pass --size " + Files.size(target) + " to open it (a log's size never changes)");
        }
        Map<String, Object> r = new LinkedHashMap<>();
        PrintWriter err = spec.commandLine().getErr();
        try (PmemRegion region = PmemRegion.map(kernel, target, size, strict)) {
            PmemLog log;
            try {
                log = PmemLog.open(region);
            } catch (DamagedLogException e) {
                throw refused(target, e);
            }
            PmemLog.Recovery before = log.opened();
            String warning = !before.fellBack() ? null : String.format("the newest commit slot of %s fails its"
                    + " check (a crash during a commit, or damage): the log ends at commit %d; %d whole record(s)"
                    + " past that end were not committed", target, before.sequence(), before.wholePastEnd());
            if (warning != null && !json) { // with --json it is in the result
                err.println("pmem-log: warning: " + warning);
            }
            int found = before.records().size();
            long started = System.nanoTime();
            PrintWriter out = spec.commandLine().getOut();
            int appended = 0;
            try {
                for (; appended < records; appended++) {
                    log.append(("record " + (found + appended) + " of kdirect pmem-log")
                            .getBytes(StandardCharsets.US_ASCII));
                    if (printAcks) {
                        out.println("acknowledged " + (found + appended + 1));
                        out.flush();
                    }
                    if (!json && records >= 10_000 && (appended + 1) % (records / 10) == 0) {
                        err.printf("pmem-log: %d of %d records appended%n", appended + 1, records);
                        err.flush();
                    }
                }
            } catch (LogFullException e) {
                throw new CommandFailure(FULL, target + ": " + e.getMessage() + "; the " + appended + " records"
                        + " appended before are durable", null, "start a new log in another file with a larger --size");
            }
            long elapsed = System.nanoTime() - started;
            r.put("file", target.toString());
            r.put("granularity", region.granularity().name());
            r.put("reason", region.granularityReason());
            r.put("recordsBefore", found);
            r.put("fellBack", before.fellBack());
            r.put("warning", warning);
            r.put("appended", appended);
            r.put("recordsAfter", recoverCount(region));
            r.put("microsPerAppend", appended == 0 ? 0.0 : elapsed / 1000.0 / appended);
            r.put("bytesUsed", log.end());
        }
        print(r, String.format("pmem-log: %s%n  %s: %s%n  %d records found, %d appended durably, %d recovered;"
                + " %.1f us per append (one run, not a benchmark)", r.get("file"), r.get("granularity"),
                r.get("reason"), (Integer) r.get("recordsBefore"), (Integer) r.get("appended"),
                (Integer) r.get("recordsAfter"), (Double) r.get("microsPerAppend")));
        return 0;
    }

    private static int recoverCount(PmemRegion region) {
        try {
            return PmemLog.recover(region.readOnlyView()).records().size();
        } catch (DamagedLogException e) {
            throw new IllegalStateException("the log fails its check right after appending: " + e.getMessage(), e);
        }
    }

    private static CommandFailure refused(Path target, DamagedLogException e) {
        return new CommandFailure(DAMAGED, target + " was refused: " + e.getMessage() + ". Nothing was written",
                null, e.formatV1() ? "" : "`kdirect pmem-log --file " + target + " --salvage` reports which records"
                        + " can still be read; start a new log in another file");
    }

    /** Reads the file with pread (no mapping, no write) and reports what recovery and salvage find. */
    private int salvage(Kernel kernel, Path target) throws KernelException {
        int fd = UserFiles.openExisting(kernel, target, OpenFlags.RDONLY);
        try (Arena arena = Arena.ofConfined()) {
            long length = kernel.fstat(fd).size();
            MemorySegment image = arena.allocate(Math.max(1, length), 64).asSlice(0, length);
            for (long done = 0; done < length; ) {
                long n = kernel.pread(fd, image.asSlice(done), done);
                if (n == 0) {
                    throw new IllegalStateException(target + " shrank while it was read");
                }
                done += n;
            }
            String verdict;
            boolean intact;
            try {
                PmemLog.Recovery recovery = PmemLog.recover(image);
                intact = !recovery.fellBack();
                verdict = recovery.blank() ? "holds no log" : recovery.fellBack() ? "opens at the older commit "
                        + recovery.sequence() + ": the newest commit slot fails its check" : "intact: "
                        + recovery.records().size() + " records";
            } catch (DamagedLogException e) {
                intact = false;
                verdict = "refused: " + e.getMessage();
            }
            PmemLog.Salvage s = PmemLog.salvage(image);
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("file", target.toString());
            r.put("intact", intact);
            r.put("recovery", verdict);
            r.put("readable", s.records().size());
            r.put("committed", s.committed());
            r.put("lost", s.lost());
            r.put("problems", s.problems());
            print(r, String.format("pmem-log --salvage: %s (read only, nothing written)%n  recovery: %s%n"
                    + "  %d records can be read%s%n  committed: %s%n  lost: %s%s", target, verdict,
                    s.records().size(), s.records().isEmpty() ? "" : " (sequence numbers " + ranges(s.records()
                            .stream().map(PmemLog.SalvagedRecord::sequence).toList()) + ")",
                    s.committed() < 0 ? "unknown (no commit slot checks)" : s.committed() + " records",
                    s.lost().isEmpty() ? "none found missing" : s.lost().size() + " records (" + ranges(s.lost()) + ")",
                    s.problems().isEmpty() ? "" : "\n  problems: " + String.join("; ", s.problems())));
            return intact ? 0 : DAMAGED;
        } finally {
            kernel.close(fd);
        }
    }

    /** "0-4, 7, 9-12". */
    private static String ranges(List<Long> sorted) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < sorted.size(); ) {
            int j = i;
            while (j + 1 < sorted.size() && sorted.get(j + 1) == sorted.get(j) + 1) {
                j++;
            }
            s.append(s.isEmpty() ? "" : ", ").append(sorted.get(i)).append(j > i ? "-" + sorted.get(j) : "");
            i = j + 1;
        }
        return s.toString();
    }

    private int crashTest() throws Exception {
        LogCrashTest.Result result = LogCrashTest.run(samples, damageImages, records, seed);
        DamageReport damage = result.report().damage();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("records", records);
        r.put("crashPoints", result.report().crashPoints());
        r.put("images", result.report().images());
        r.put("failedImages", result.report().failures().size());
        r.put("lostAcknowledged", result.lostAcknowledged());
        r.put("tornAccepted", result.tornAccepted());
        r.put("redundantFlushes", result.report().redundantFlushes().size());
        r.put("damageImages", damage.images());
        r.put("damageByKind", damage.imagesByKind());
        r.put("damageAccepted", damage.accepted());
        r.put("damageSalvaged", damage.salvaged());
        r.put("damageRefused", damage.refused());
        r.put("damageLostAcknowledgedCounted", damage.lost());
        r.put("damagedAccepted", result.damagedAccepted());
        r.put("failedDamageImages", damage.failures().size());
        print(r, String.format("pmem-log crash test (simulated machine, seed %d): %d appends, %d crash images at %d"
                + " crash points: %d lost acknowledged records, %d torn records accepted, %d redundant flushes%n"
                + "  %d media-damage images %s: %d accepted, %d refused and salvaged, %d refused with nothing to"
                + " salvage; %d damaged records accepted; %d acknowledged records lost, each counted in its"
                + " image's report", seed, records, result.report().images(), result.report().crashPoints(),
                result.lostAcknowledged(), result.tornAccepted(), result.report().redundantFlushes().size(),
                damage.images(), damage.imagesByKind(), damage.accepted(), damage.salvaged(), damage.refused(),
                result.damagedAccepted(), damage.lost())
                + (result.report().consistent() ? "" : "\n  " + result.report()));
        return result.report().consistent() ? 0 : 1;
    }

    private void print(Map<String, Object> result, String text) {
        PrintWriter out = spec.commandLine().getOut();
        out.println(json ? Json.write(result) : text);
        out.flush();
    }
}
