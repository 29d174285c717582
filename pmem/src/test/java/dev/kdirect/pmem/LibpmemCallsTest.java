package dev.kdirect.pmem;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Binding;
import dev.kdirect.Feature;
import dev.kdirect.contract.ChildJvm;
import dev.kdirect.testing.RequiresRealKernel;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The cache-line write-back and the fence observed on real DAX (the guest's /mnt/pmem): a child JVM loads a
 * recording stand-in for libpmem.so.1 (built here with gcc from libpmem_calls.c) ahead of the real one, and the
 * calls it recorded must be exactly those persist and flush-then-drain need: pmem_persist of the whole lines
 * covering the range, pmem_flush of the lines, pmem_drain. The CPU has no counter for clwb or sfence (nor does
 * QEMU's TCG emulate a PMU), so libpmem's entry points are where the write-back is seen.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(value = Binding.class, names = {"FFM", "JNA"})
@RequiresRealKernel(Feature.DAX_PMEM)
class LibpmemCallsTest {
    private static final Path REAL_LIBPMEM = Path.of("/usr/lib/x86_64-linux-gnu/libpmem.so.1");

    @Parameter
    Binding binding;

    @TempDir
    Path work;

    @Test
    void persistAndFlushCallLibpmemForExactlyTheLinesCoveringTheRange() throws Exception {
        Path library = buildRecordingLibpmem();
        Path calls = work.resolve("calls");
        Path pmem = Files.createTempDirectory(Path.of(System.getenv().getOrDefault("KDIRECT_PMEM_DIR", "/mnt/pmem")),
                "calls");
        try {
            ProcessBuilder child = new ProcessBuilder(ChildJvm.java(), "-Xshare:auto", "-XX:TieredStopAtLevel=1",
                    "--enable-native-access=ALL-UNNAMED", "-Dkdirect.binding=" + binding.id(),
                    "-Djna.library.path=" + library.getParent(), "-cp",
                    ChildJvm.classPath(LibpmemCallsProgram.class, PmemRegion.class),
                    LibpmemCallsProgram.class.getName(), pmem.toString()).redirectErrorStream(true);
            child.environment().put("LD_LIBRARY_PATH", library.getParent().toString());
            child.environment().put("KDIRECT_PMEM_CALLS", calls.toString());
            child.environment().put("KDIRECT_REAL_LIBPMEM", REAL_LIBPMEM.toString());
            Process process = child.start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("child JVM finished").isTrue();
            assertThat(process.exitValue()).as(output).isZero();

            String[] region = output.lines().filter(l -> l.startsWith("region ")).findFirst().orElseThrow().split(" ");
            assertThat(region[2]).as("granularity").isEqualTo(Granularity.CACHE_LINE.name());
            long base = Long.parseUnsignedLong(region[1], 16);
            assertThat(Files.readAllLines(calls)).containsExactly(
                    call("pmem_persist", base, 128), // bytes 60..69: lines 0 and 64
                    call("pmem_flush", base + 192, 64), // bytes 200..207: line 192
                    "pmem_drain 0 0");
        } finally {
            try (var files = Files.list(pmem)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(pmem);
        }
    }

    private static String call(String name, long address, long length) {
        return name + " " + Long.toHexString(address) + " " + length;
    }

    /** libpmem_calls.c built as libpmem.so.1 (and libpmem.so, the name JNA asks for) in the work directory. */
    private Path buildRecordingLibpmem() throws Exception {
        assertThat(REAL_LIBPMEM).as("Debian's libpmem1").exists();
        Path source = work.resolve("libpmem_calls.c");
        try (InputStream in = LibpmemCallsTest.class.getResourceAsStream("libpmem_calls.c")) {
            Files.copy(in, source);
        }
        Path dir = Files.createDirectory(work.resolve("lib"));
        Path library = dir.resolve("libpmem.so.1");
        Process gcc = new ProcessBuilder("gcc", "-shared", "-fPIC", "-O1", "-o", library.toString(),
                source.toString(), "-ldl").redirectErrorStream(true).start();
        String output = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(gcc.waitFor(120, TimeUnit.SECONDS)).as("gcc finished").isTrue();
        assertThat(gcc.exitValue()).as("gcc: " + output).isZero();
        Files.createSymbolicLink(dir.resolve("libpmem.so"), library.getFileName());
        return library;
    }
}
