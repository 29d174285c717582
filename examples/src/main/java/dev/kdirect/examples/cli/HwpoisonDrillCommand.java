package dev.kdirect.examples.cli;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import dev.kdirect.Advice;
import dev.kdirect.Feature;
import dev.kdirect.KernelRelease;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.MapFlags;
import dev.kdirect.Prot;
import dev.kdirect.pmem.MemoryFailure;
import dev.kdirect.pmem.PoisonedPage;
import dev.kdirect.pmem.PoisonedPageException;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.zip.CRC32C;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kdirect hwpoison-drill}: a memory-failure drill. Writes known data to a small mapped region and keeps a
 * replica, injects HWPOISON into one page, reads the region back under {@link MemoryFailure#guard}, which names
 * the poisoned page, then recovers by mapping a fresh region and rewriting it from the replica.
 */
@Command(name = "hwpoison-drill", mixinStandardHelpOptions = true,
        description = {"A memory-failure drill: writes known data to a small mapped region and keeps a replica,"
                + " injects a hardware memory error (MADV_HWPOISON) into one page, detects it when the region is"
                + " read (the poisoned page is named, the JVM lives on), then recovers by mapping a fresh region"
                + " and rewriting it from the replica, and verifies the checksum.",
            "Runs on the real kernel where memory-failure injection works (root, CONFIG_MEMORY_FAILURE; see kdirect"
                + " doctor), else on the simulated kernel; KDIRECT_BINDING=simulated forces the simulated one. On"
                + " the real kernel the poisoned frame is retired for good.",
            "With --debugfs the region is madvised MADV_NOHUGEPAGE, and the frame is checked right before it is"
                + " written (anonymous, mapped once, not compound, still our page's); a frame that fails is refused"
                + " with the reason (exit 1) and nothing is poisoned."},
        exitCodeListHeading = "Exit status:%n",
        exitCodeList = {"0:the poisoned page was detected and the data recovered",
            "1:not detected or not recovered, or the frame check refused the page (nothing poisoned)",
            FriendlyErrors.EXIT_USAGE,
            FriendlyErrors.EXIT_UNAVAILABLE,
            FriendlyErrors.EXIT_ERRNO,
            FriendlyErrors.EXIT_BUG})
final class HwpoisonDrillCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--pages", paramLabel = "N", defaultValue = "8", description = "Pages in the region (2-4096).")
    int pages;

    @Option(names = "--poison-page", paramLabel = "INDEX", defaultValue = "3",
            description = "Which page to poison, from 0.")
    int poisonPage;

    @Option(names = "--debugfs", description = "Inject by page frame number through debugfs (the hwpoison_inject"
            + " module: the route for kernels 6.11 and later) instead of madvise. Real kernel, root only.")
    boolean debugfs;

    @Option(names = "--seed", defaultValue = "20261207", description = "Seed of the data written.")
    long seed;

    @Option(names = "--json", description = "Print the outcome as JSON.")
    boolean json;

    @Override
    public Integer call() throws KernelException, IOException {
        if (pages < 2 || pages > 4096 || poisonPage < 0 || poisonPage >= pages) {
            throw new IllegalArgumentException("need 2 to 4096 pages and a page index below --pages: --pages "
                    + pages + " --poison-page " + poisonPage);
        }
        MemoryFailure failures = MemoryFailure.forFeature();
        Kernel kernel = failures.kernel();
        if (debugfs && !kernel.binding().isReal()) {
            throw new IllegalArgumentException("--debugfs injects by page frame number, which needs the real kernel;"
                    + " memory-failure is simulated here: " + Feature.MEMORY_FAILURE.status().evidence());
        }
        long page = kernel.pageSize();
        long size = pages * page;
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("binding", kernel.binding().id());
        r.put("realKernel", kernel.binding().isReal());
        r.put("kernelRelease", kernel.binding().isReal() ? KernelRelease.running().text() : "simulated");
        r.put("pages", pages);
        r.put("pageSize", page);
        r.put("route", debugfs ? "debugfs corrupt-pfn" : "madvise(MADV_HWPOISON)");

        byte[] replica = new byte[(int) size];
        new Random(seed).nextBytes(replica);
        long expected = crc(replica);
        r.put("checksum", hex(expected));

        MemorySegment region = map(kernel, size);
        MemorySegment fresh = null;
        try {
            if (debugfs) { // before the data faults the pages in: small pages only, never collapsed into a THP
                kernel.madvise(region, size, Advice.NOHUGEPAGE);
            }
            MemorySegment.copy(replica, 0, region, JAVA_BYTE, 0, replica.length);
            MemorySegment poisoned = region.asSlice(poisonPage * page, page);
            try {
                if (debugfs) {
                    failures.injectThroughDebugfs(poisoned);
                } else {
                    failures.inject(poisoned, MemoryFailure.Kind.HWPOISON);
                }
            } catch (UnsupportedOperationException e) {
                throw new CommandFailure(FriendlyErrors.UNAVAILABLE, e.getMessage(), null, "");
            } catch (IllegalStateException e) { // the frame check refused (or pagemap hid the frame): nothing poisoned
                throw new CommandFailure(FriendlyErrors.FAILED, e.getMessage(), null, "");
            }
            r.put("injectedPage", poisonPage);
            r.put("injectedAddress", hex(poisoned.address()));

            long started = System.nanoTime();
            MemorySegment reading = region;
            try {
                long read = failures.guard(region, () -> crc(reading));
                r.put("detected", false);
                r.put("checksumRead", hex(read));
            } catch (PoisonedPageException e) {
                r.put("detected", true);
                r.put("detectionMillis", Math.round((System.nanoTime() - started) / 1e4) / 100.0);
                r.put("poisonedAddress", hex(e.address()));
                r.put("poisonedOffset", e.offset());
                r.put("poisonedPageIndex", e.offset() / page);
                r.put("poisonedFrame", e.page().pfn() >= 0 ? hex(e.page().pfn()) : null);
                r.put("detectedBy", e.getCause() != null
                        ? "SIGBUS on access, raised by the JDK as " + e.getCause().getClass().getName()
                        : "the simulated kernel's poison list, checked before the access");
                r.put("exception", e.getMessage());
            }
            r.put("listedPoisonedOffsets", failures.poisonedPages(region).stream().map(PoisonedPage::offset).toList());

            // Recover: a fresh region, rewritten from the replica; the poisoned one is unmapped.
            fresh = map(kernel, size);
            MemorySegment.copy(replica, 0, fresh, JAVA_BYTE, 0, replica.length);
            MemorySegment rewritten = fresh;
            long verified;
            try {
                verified = failures.guard(fresh, () -> crc(rewritten));
            } catch (PoisonedPageException e) {
                verified = -1;
            }
            r.put("recoveredChecksum", hex(verified));
            r.put("recovered", verified == expected && failures.poisonedPages(fresh).isEmpty());
        } finally {
            kernel.munmap(region, size);
            if (fresh != null) {
                kernel.munmap(fresh, size);
            }
        }
        boolean ok = Boolean.TRUE.equals(r.get("detected")) && Boolean.TRUE.equals(r.get("recovered"))
                && Long.valueOf(poisonPage * page).equals(r.get("poisonedOffset"));
        r.put("ok", ok);
        PrintWriter out = spec.commandLine().getOut();
        out.println(json ? Json.write(r) : story(r));
        out.flush();
        return ok ? 0 : 1;
    }

    private static MemorySegment map(Kernel kernel, long size) throws KernelException {
        return kernel.mmap(MemorySegment.NULL, size, Prot.READ_WRITE, MapFlags.PRIVATE | MapFlags.ANONYMOUS, -1, 0);
    }

    private static long crc(byte[] data) {
        CRC32C c = new CRC32C();
        c.update(data);
        return c.getValue();
    }

    /**
     * Copies the segment to the heap first: MemorySegment.copy turns a fault into an InternalError, whereas
     * CRC32C.update(ByteBuffer) over a mapped buffer reads it in a JVM stub, where a SIGBUS kills the JVM (seen in
     * the guest: SIGBUS in StubRoutines::updateBytesCRC32C).
     */
    private static long crc(MemorySegment data) {
        byte[] copy = new byte[(int) data.byteSize()];
        MemorySegment.copy(data, JAVA_BYTE, 0, copy, 0, copy.length);
        return crc(copy);
    }

    private static String story(Map<String, Object> r) {
        boolean real = (Boolean) r.get("realKernel");
        String where = real ? "the real kernel " + r.get("kernelRelease") + " (" + r.get("binding") + " binding)"
                : "the simulated kernel (memory-failure injection is not real here; see kdirect doctor)";
        String detection = Boolean.TRUE.equals(r.get("detected"))
                ? "  detected on access in " + r.get("detectionMillis") + " ms: " + r.get("exception") + "\n"
                        + "    how: " + r.get("detectedBy") + "\n"
                        + "  listed poisoned pages (offsets): " + r.get("listedPoisonedOffsets")
                : "  NOT detected: the region read back with checksum " + r.get("checksumRead");
        List<String> lines = List.of(
                "hwpoison-drill on " + where,
                "  wrote " + r.get("pages") + " pages of " + r.get("pageSize") + " bytes, CRC-32C "
                        + r.get("checksum") + "; kept a replica on the heap",
                "  injected HWPOISON into page " + r.get("injectedPage") + " (" + r.get("injectedAddress") + ") with "
                        + r.get("route"),
                detection,
                "  recovered: mapped a fresh region, rewrote it from the replica: CRC-32C " + r.get("recoveredChecksum")
                        + (Boolean.TRUE.equals(r.get("recovered")) ? " (matches)" : " (DOES NOT MATCH)"),
                Boolean.TRUE.equals(r.get("ok")) ? "  result: the failure was caught, named and recovered from"
                        : "  result: FAILED");
        return String.join("\n", lines);
    }

    private static String hex(long value) {
        return "0x" + Long.toHexString(value);
    }
}
