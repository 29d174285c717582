package dev.kdirect.benchmarks;

import dev.kdirect.Feature;
import dev.kdirect.KernelException;
import dev.kdirect.Kernels;
import dev.kdirect.kexec.Kexec;
import dev.kdirect.kexec.LoadRequest;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Loading the same kernel, initrd and command line for kexec on the real kernel, two ways:
 * <ul>
 *   <li>{@link #kdirect}: {@code Kexec.system().load(...)} in this JVM (kdirect's validation, then
 *       kexec_file_load through the FFM binding).</li>
 *   <li>{@link #kexecTools}: kexec-tools as a child process, {@code kexec -s -l KERNEL --initrd INITRD
 *       --append CMDLINE}, waited for; a non-zero exit fails the benchmark.</li>
 * </ul>
 * The kernel and initrd are the files named by {@code KDIRECT_GUEST_KERNEL} and {@code KDIRECT_GUEST_INITRD}
 * (set by {@code ci/qemu/run} in the guest). One op is one load: each iteration is a single shot, and the loaded
 * kernel is unloaded (through kdirect, for both) outside the timed part, before and after each iteration; the
 * iteration's teardown checks {@code /sys/kernel/kexec_loaded} first, so an op that returned without loading
 * anything fails. The setup requires {@link Feature#KEXEC_FILE_LOAD}: where it is not real (e.g. a host kernel
 * without kexec_file_load) both benchmarks fail at once and the simulated kernel is never timed.
 */
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@State(Scope.Benchmark)
@Warmup(iterations = 2, batchSize = 1)
@Measurement(iterations = 5, batchSize = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
public class KexecLoadBenchmark {
    /** The command line both ways pass; the guest's own. */
    static final String COMMAND_LINE = "console=ttyS0 quiet panic=-1";

    private Kexec kexec;
    private LoadRequest request;
    private List<String> kexecToolsCommand;

    @Setup(Level.Trial)
    public void setUp() throws KernelException {
        Feature.KEXEC_FILE_LOAD.ensureAvailable();
        Path kernelImage = fileFromEnvironment("KDIRECT_GUEST_KERNEL");
        Path initrd = fileFromEnvironment("KDIRECT_GUEST_INITRD");
        kexec = Kexec.system();
        if (kexec.kernel() != Kernels.ffm()) {
            throw new IllegalStateException("Kexec.system() is not the real kernel through FFM ("
                    + kexec.kernel() + "); run without -Dkdirect.binding");
        }
        request = LoadRequest.of(kernelImage, COMMAND_LINE).withInitrd(initrd);
        kexecToolsCommand = List.of(findKexecTools().toString(), "-s", "-l", kernelImage.toString(),
                "--initrd", initrd.toString(), "--append", COMMAND_LINE);
    }

    /** Nothing loaded before the timed op. */
    @Setup(Level.Iteration)
    public void unloadBefore() throws KernelException {
        kexec.unload();
        if (kexec.state().loaded()) {
            throw new IllegalStateException("/sys/kernel/kexec_loaded is still 1 after unloading");
        }
    }

    /** The op loaded a kernel; unload it. */
    @TearDown(Level.Iteration)
    public void checkLoadedThenUnload() throws KernelException {
        boolean loaded = kexec.state().loaded();
        kexec.unload();
        if (!loaded) {
            throw new IllegalStateException("the load returned but /sys/kernel/kexec_loaded is 0");
        }
    }

    /** One load through kdirect: validation, open, kexec_file_load, close. */
    @Benchmark
    public void kdirect() throws KernelException, IOException {
        kexec.load(request);
    }

    /** One load through kexec-tools: start {@code kexec -s -l ...}, read its output, wait for it. */
    @Benchmark
    public int kexecTools() throws IOException, InterruptedException {
        Process process = new ProcessBuilder(kexecToolsCommand).redirectErrorStream(true).start();
        process.getOutputStream().close();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int status = process.waitFor();
        if (status != 0) {
            throw new IllegalStateException(String.join(" ", kexecToolsCommand) + " exited with " + status
                    + (output.isBlank() ? "" : ": " + output.strip()));
        }
        return status;
    }

    private static Path fileFromEnvironment(String name) {
        String value = System.getenv(name);
        if (value == null || value.isEmpty()) {
            throw new IllegalStateException(name + " is not set: it names the kernel image and initrd to load"
                    + " (ci/qemu/run sets KDIRECT_GUEST_KERNEL and KDIRECT_GUEST_INITRD in the guest; run"
                    + " benchmarks/run-in-guest)");
        }
        Path path = Path.of(value);
        if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
            throw new IllegalStateException(name + "=" + value + " is not a readable regular file");
        }
        return path;
    }

    /** kexec-tools' kexec: on PATH, else in /usr/sbin or /sbin (PATH may lack the sbin directories). */
    private static Path findKexecTools() {
        List<String> directories = new ArrayList<>(List.of(System.getenv().getOrDefault("PATH", "")
                .split(File.pathSeparator)));
        directories.addAll(List.of("/usr/sbin", "/sbin"));
        for (String directory : directories) {
            if (directory.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(directory, "kexec");
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException("kexec-tools' kexec is not on PATH, in /usr/sbin or in /sbin: install the"
                + " Debian package kexec-tools (ci/qemu/setup does)");
    }
}
