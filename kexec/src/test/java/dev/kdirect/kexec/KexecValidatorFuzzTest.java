package dev.kdirect.kexec;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Binding;
import dev.kdirect.Errno;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.KexecFlags;
import dev.kdirect.OpenFlags;
import dev.kdirect.contract.ContractKernels;
import dev.kdirect.contract.TestImages;
import dev.kdirect.rules.Refusal;
import dev.kdirect.testing.RequiredFeatures;
import dev.kdirect.testing.RequiresRealKernel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The validator against the kernels: mutated bzImage headers and command lines, each judged by
 * {@link KexecValidator} before any syscall and loaded through the simulated kernel and, where kexec is real (always
 * in the QEMU guest), the real one. Wherever the validator rules (the file, the probe, the command line) its verdict
 * must be the kernels'. The mutations touch the probe's fields, setup_sects, cmdline_size, the length and the
 * command line; placement fields (init_size, kernel_alignment) are left alone here, since the validator does not
 * know the memory map. The call-by-call comparison of the real kernel and the model over random programs,
 * placement included, is native-bindings' KexecFuzzTest (dev.kdirect.fuzz.KexecFuzzer).
 */
@RequiresRealKernel
class KexecValidatorFuzzTest {
    private static final int CASES = Integer.getInteger("kdirect.fuzz.cases", 1000);
    private static final long NO_INITRAMFS = KexecFlags.NO_INITRAMFS;
    private static final int[] CHECKED_BYTES = {0x1f1, 0x1fe, 0x1ff, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207,
        0x211, 0x236, 0x237, 0x238, 0x239, 0x23a, 0x23b};

    @TempDir
    Path dir;

    @Test
    void everyMutatedImageGetsTheSameVerdictFromTheKernelTheModelAndTheValidator() throws Exception {
        List<Kernel> kernels = new ArrayList<>(List.of(ContractKernels.kernel(Binding.SIMULATED)));
        boolean real = Feature.KEXEC_FILE_LOAD.isAvailable();
        if (real || RequiredFeatures.get().contains(Feature.KEXEC_FILE_LOAD)) {
            kernels.add(ContractKernels.kernel(Binding.FFM, Feature.KEXEC_FILE_LOAD));
        }
        byte[] base = TestImages.loadable();
        Random random = new Random(20261201);
        Map<Optional<Errno>, Integer> verdicts = new HashMap<>(); // empty: loaded
        List<String> disagreements = new ArrayList<>();
        long started = System.nanoTime();
        for (int n = 0; n < CASES; n++) {
            Mutant mutant = Mutant.of(base, random);
            Path file = TestImages.write(dir, "mutant", mutant.image());
            Optional<Errno> expected = KexecValidator.check(LoadRequest.of(file, mutant.commandLine()))
                    .map(Refusal::errno);
            for (Kernel kernel : kernels) {
                Optional<Errno> got = load(kernel, file, mutant.commandLine());
                if (!got.equals(expected)) {
                    disagreements.add("case " + n + " (" + mutant.description() + "): validator " + expected + ", "
                            + kernel.binding().id() + " " + got);
                }
            }
            verdicts.merge(expected, 1, Integer::sum);
        }
        System.out.printf("kexec validator fuzz: %d mutated images, kernels %s, %d disagreements, verdicts %s,"
                + " %.1f s%n", CASES, kernels.stream().map(k -> k.binding().id()).toList(), disagreements.size(),
                verdicts, (System.nanoTime() - started) / 1e9);
        assertThat(disagreements).isEmpty();
        assertThat(verdicts).containsKeys(Optional.empty(), Optional.of(Errno.ENOEXEC),
                Optional.of(Errno.EINVAL)); // the mutations reach every stage
    }

    private static Optional<Errno> load(Kernel kernel, Path file, String commandLine) throws KernelException {
        int fd = kernel.open(file.toString(), OpenFlags.RDONLY, 0);
        try (Arena arena = Arena.ofConfined()) {
            byte[] bytes = KexecValidator.commandLineBytes(commandLine);
            MemorySegment cmdline = arena.allocate(bytes.length);
            MemorySegment.copy(bytes, 0, cmdline, JAVA_BYTE, 0, bytes.length);
            kernel.kexecFileLoad(fd, -1, cmdline, NO_INITRAMFS);
            Kexec.on(kernel).unload();
            return Optional.empty();
        } catch (KernelException e) {
            return Optional.of(e.error());
        } finally {
            kernel.close(fd);
        }
    }

    /** One mutated image and command line, and what was done to it. */
    private record Mutant(byte[] image, String commandLine, String description) {
        static Mutant of(byte[] base, Random random) {
            byte[] image = base.clone();
            String commandLine = "";
            int length = image.length;
            StringBuilder what = new StringBuilder();
            for (int op = 1 + random.nextInt(3); op > 0; op--) {
                switch (random.nextInt(8)) {
                    case 0 -> {
                        int offset = CHECKED_BYTES[random.nextInt(CHECKED_BYTES.length)];
                        image[offset] ^= (byte) (1 << random.nextInt(8));
                        what.append(String.format("bit flip at 0x%x; ", offset));
                    }
                    case 1 -> {
                        int offset = CHECKED_BYTES[random.nextInt(CHECKED_BYTES.length)];
                        image[offset] = (byte) random.nextInt(256);
                        what.append(String.format("byte at 0x%x = 0x%02x; ", offset, image[offset] & 0xff));
                    }
                    case 2 -> {
                        length = random.nextInt(image.length + 1);
                        what.append("length ").append(length).append("; ");
                    }
                    case 3 -> {
                        image = TestImages.withU16(image, 0x206, 0x0200 + random.nextInt(0x20));
                        what.append(String.format("version 0x%x; ", TestImages.u16(image, 0x206)));
                    }
                    case 4 -> {
                        image = TestImages.withU16(image, 0x236, random.nextInt(0x80));
                        what.append(String.format("xloadflags 0x%x; ", TestImages.u16(image, 0x236)));
                    }
                    case 5 -> {
                        image = TestImages.withU8(image, 0x1f1, random.nextInt(128));
                        what.append("setup_sects ").append(image[0x1f1] & 0xff).append("; ");
                    }
                    case 6 -> {
                        int size = random.nextInt(2200);
                        image = TestImages.withU32(image, 0x238, size);
                        what.append("cmdline_size ").append(size).append("; ");
                    }
                    default -> {
                        commandLine = "k".repeat(random.nextInt(2100));
                        what.append("cmdline of ").append(commandLine.length()).append(" bytes; ");
                    }
                }
            }
            return new Mutant(TestImages.truncated(image, length), commandLine, what.toString());
        }
    }
}
