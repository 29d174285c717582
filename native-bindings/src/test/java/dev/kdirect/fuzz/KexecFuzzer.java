package dev.kdirect.fuzz;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import dev.kdirect.Binding;
import dev.kdirect.Credentials;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.KernelRelease;
import dev.kdirect.Kernels;
import dev.kdirect.KexecFlags;
import dev.kdirect.OpenFlags;
import dev.kdirect.contract.TestImages;
import dev.kdirect.rules.BzImageRules;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * Random kexec_file_load programs: an image built by mutations of a loadable bzImage (any byte of the header area and
 * the first bytes past the setup code, the placement fields, truncation anywhere), command lines of any length with
 * and without their NUL and with NULs inside, initrds (none, empty, small, large, open for writing), loads with
 * every KEXEC_FILE_* flag and unknown ones, kernel descriptors that are not readable regular files, unloads, loads
 * over a loaded kernel, and the state in /sys/kernel/kexec_*loaded.
 *
 * <p>Left out, because they would crash or starve the real side rather than test a rule:
 * <ul>
 *   <li>a byte at 0x201 (the setup code's jump offset) of 0x80 or more: bzImage64_load (arch/x86/kernel/
 *       kexec-bzimage64.c, 6.1, unchanged in later sources) copies {@code 0x202 + kernel[0x201] - 0x1f1} bytes of the header into the
 *       boot parameters with a signed char, so such a byte makes the size negative and the memcpy runs over the
 *       kernel's heap: an oops in the guest (6.1.0-57), seen by this fuzzer, after which the guest is unusable. The
 *       model refuses such a load (UnsupportedOperationException) rather than answer;
 *   <li>loads whose kernel segment (init_size) would be between 16 MiB and 1.5 GiB. The kernel allocates, copies
 *       and hashes every byte of such a segment (kimage_load_segment, kexec_calculate_store_digests): hundreds of
 *       MiB take minutes under emulation and can drive the guest out of memory, killing the test JVM. init_size
 *       values below and above that band (the latter refused before any allocation) are drawn, so placement and
 *       the half-of-memory rule are reached.
 * </ul>
 * No program reboots. The base image is {@link TestImages#loadable()} with init_size 128 KiB (its payload is about
 * 50 KiB), so a successful load hashes little under emulation.
 */
public final class KexecFuzzer implements Fuzzer<KexecFuzzer.World> {
    private static final long UNLOAD = KexecFlags.UNLOAD;
    private static final long ON_CRASH = KexecFlags.ON_CRASH;
    private static final long NO_INITRAMFS = KexecFlags.NO_INITRAMFS;
    private static final long BAND_LOW = 16L << 20;
    private static final long BAND_HIGH = 3L << 29; // 1.5 GiB
    /** The setup code's jump offset, which bzImage64_load reads as a signed char (see the class comment). */
    private static final int JUMP_OFFSET = 0x201;
    private static final int BASE_INIT_SIZE = 128 << 10;
    /** Offsets of the setup header fields the loader reads, and of the placement fields (bootparam.h). */
    private static final int PREF_ADDRESS = BzImageRules.PREF_ADDRESS;
    private static final int RELOCATABLE_KERNEL = 0x234;
    private static final int MIN_ALIGNMENT = 0x235;
    private static final int[] FIELD_BYTES = {BzImageRules.SETUP_SECTS, BzImageRules.BOOT_FLAG,
        BzImageRules.BOOT_FLAG + 1, BzImageRules.HEADER, BzImageRules.HEADER + 3, BzImageRules.VERSION,
        BzImageRules.VERSION + 1, JUMP_OFFSET, BzImageRules.LOADFLAGS, BzImageRules.XLOADFLAGS, BzImageRules.XLOADFLAGS + 1,
        BzImageRules.CMDLINE_SIZE, BzImageRules.CMDLINE_SIZE + 1, BzImageRules.KERNEL_ALIGNMENT + 3,
        BzImageRules.INIT_SIZE, BzImageRules.INIT_SIZE + 1, RELOCATABLE_KERNEL, MIN_ALIGNMENT, PREF_ADDRESS + 7};

    private static volatile byte[] base;
    private final KernelRelease release;
    /** The initrds' bytes: a prefix of one random megabyte. */
    private static final byte[] INITRD_BYTES = new byte[1 << 20];

    /** A fuzzer whose model follows the running kernel's release, the one it is compared with where kexec is real. */
    public KexecFuzzer() {
        this(KernelRelease.running());
    }

    /** A fuzzer whose model follows {@code release}'s kexec rules (model-only runs pin each release modelled). */
    public KexecFuzzer(KernelRelease release) {
        this.release = release;
    }

    @Override
    public Kernel model() {
        return Kernels.newSimulated(Credentials.ofCurrentProcess(), List.of(), release);
    }

    static {
        new Random(0x1d).nextBytes(INITRD_BYTES);
    }

    /** Outcomes of the loads on the real kernel, by outcome, for the test's check that the programs reach far. */
    private final Map<String, Integer> realLoadOutcomes = new ConcurrentSkipListMap<>();

    @Override
    public String name() {
        return "kexec";
    }

    @Override
    public Feature feature() {
        return Feature.KEXEC_FILE_LOAD;
    }

    /** How often each load outcome occurred on the real kernel so far. */
    public Map<String, Integer> realLoadOutcomes() {
        return realLoadOutcomes;
    }

    /** The image every program starts from: {@link TestImages#loadable()} with init_size 128 KiB, read once. */
    static byte[] base() {
        byte[] b = base;
        if (b == null) {
            try {
                b = TestImages.withU32(TestImages.loadable(), BzImageRules.INIT_SIZE, BASE_INIT_SIZE);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            base = b;
        }
        return b;
    }

    /** The state a program acts on: its kernel, the image, command line and initrd it is building. */
    public static final class World implements AutoCloseable {
        final Kernel kernel;
        final Path dir;
        final Arena arena = Arena.ofConfined();
        final Map<String, Integer> outcomes;
        byte[] image = base().clone();
        int length = image.length;
        byte[] commandLine = new byte[0];
        boolean nullCommandLine;
        String initrd = "none";
        int initrdSize;
        /** What the files under {@link #dir} hold now, so a load rewrites them only when they changed. */
        private byte[] imageWritten;
        private int initrdWritten = -1;

        World(Kernel kernel, Path dir, Map<String, Integer> outcomes) {
            this.kernel = kernel;
            this.dir = dir;
            this.outcomes = outcomes;
        }

        String load(String kernelFd, long flags) throws Exception {
            Path file = dir.resolve("image");
            if (imageWritten == null || imageWritten.length != length
                    || !Arrays.equals(imageWritten, 0, length, image, 0, length)) {
                imageWritten = Arrays.copyOf(image, length);
                Files.write(file, imageWritten);
            }
            int fd = switch (kernelFd) {
                case "read" -> kernel.open(file.toString(), OpenFlags.RDONLY, 0);
                case "readwrite" -> kernel.open(file.toString(), OpenFlags.RDWR, 0);
                case "writeonly" -> kernel.open(file.toString(), OpenFlags.WRONLY, 0);
                case "directory" -> kernel.open(dir.toString(), OpenFlags.RDONLY | OpenFlags.DIRECTORY, 0);
                default -> -1;
            };
            int initrdFd = -1;
            try {
                if (!initrd.equals("none")) {
                    Path initrdFile = dir.resolve("initrd");
                    int size = initrd.equals("empty") ? 0 : initrdSize;
                    if (initrdWritten != size) {
                        try (FileChannel out = FileChannel.open(initrdFile, StandardOpenOption.CREATE,
                                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                            out.write(ByteBuffer.wrap(INITRD_BYTES, 0, size));
                        }
                        initrdWritten = size;
                    }
                    initrdFd = kernel.open(initrdFile.toString(),
                            initrd.equals("writable") ? OpenFlags.RDWR : OpenFlags.RDONLY, 0);
                }
                String outcome;
                try {
                    kernel.kexecFileLoad(fd, initrdFd, commandLineSegment(), flags);
                    outcome = "ok";
                } catch (KernelException e) {
                    outcome = e.errnoName();
                }
                if (kernel.binding().isReal()) {
                    outcomes.merge(outcome, 1, Integer::sum);
                }
                return outcome;
            } finally {
                if (initrdFd >= 0) {
                    kernel.close(initrdFd);
                }
                if (fd >= 0) {
                    kernel.close(fd);
                }
            }
        }

        private MemorySegment commandLineSegment() {
            if (nullCommandLine) {
                return MemorySegment.NULL.reinterpret(Math.max(1, commandLine.length)); // a length, no buffer
            }
            if (commandLine.length == 0) {
                return MemorySegment.NULL;
            }
            MemorySegment s = arena.allocate(commandLine.length);
            MemorySegment.copy(commandLine, 0, s, JAVA_BYTE, 0, commandLine.length);
            return s;
        }

        String sysfs(String name) throws KernelException {
            int fd = kernel.open("/sys/kernel/" + name, OpenFlags.RDONLY, 0);
            try {
                MemorySegment buffer = arena.allocate(32);
                long n = kernel.pread(fd, buffer, 0);
                return new String(buffer.asSlice(0, n).toArray(JAVA_BYTE), java.nio.charset.StandardCharsets.US_ASCII)
                        .strip();
            } finally {
                kernel.close(fd);
            }
        }

        /** Unloads both slots, so the next program starts with nothing loaded on the real kernel too. */
        @Override
        public void close() throws KernelException {
            try {
                kernel.kexecFileLoad(-1, -1, MemorySegment.NULL, UNLOAD);
                kernel.kexecFileLoad(-1, -1, MemorySegment.NULL, UNLOAD | ON_CRASH);
            } finally {
                arena.close();
            }
        }
    }

    /** Sets one byte of the image (the file keeps its current length). */
    public record SetByte(int offset, int value) implements Step<World> {
        @Override
        public String apply(World w) {
            w.image[offset] = (byte) value;
            return "ok";
        }
    }

    /** Sets a little-endian field of 1, 2, 4 or 8 bytes. */
    public record SetField(int offset, int width, long value) implements Step<World> {
        @Override
        public String apply(World w) {
            ByteBuffer b = ByteBuffer.wrap(w.image).order(ByteOrder.LITTLE_ENDIAN);
            switch (width) {
                case 1 -> b.put(offset, (byte) value);
                case 2 -> b.putShort(offset, (short) value);
                case 4 -> b.putInt(offset, (int) value);
                default -> b.putLong(offset, value);
            }
            return "ok";
        }
    }

    /** Cuts the file to this length (at most the image's). */
    public record Truncate(int length) implements Step<World> {
        @Override
        public String apply(World w) {
            w.length = Math.min(length, w.image.length);
            return "ok";
        }
    }

    /**
     * The command line: {@code length} bytes of text, the last one a NUL when {@code terminated}, a NUL at
     * {@code innerNul} when that is inside; {@code nullPointer}: the length with a NULL pointer.
     */
    public record CommandLine(int length, boolean terminated, int innerNul, boolean nullPointer)
            implements Step<World> {
        @Override
        public String apply(World w) {
            byte[] bytes = new byte[length];
            for (int i = 0; i < length; i++) {
                bytes[i] = (byte) ('a' + i % 26);
            }
            if (innerNul >= 0 && innerNul < length) {
                bytes[innerNul] = 0;
            }
            if (terminated && length > 0) {
                bytes[length - 1] = 0;
            }
            w.commandLine = bytes;
            w.nullCommandLine = nullPointer;
            return "ok";
        }
    }

    /** The initrd the next loads pass: "none" (descriptor -1), "empty", "small", "large" or "writable". */
    public record Initrd(String kind, int size) implements Step<World> {
        @Override
        public String apply(World w) {
            w.initrd = kind;
            w.initrdSize = size;
            return "ok";
        }
    }

    /**
     * kexec_file_load of the image as built so far through a descriptor of this kind ("read", "readwrite",
     * "writeonly", "directory", "none" for -1), with the command line and initrd set so far.
     */
    public record Load(String kernelFd, long flags) implements Step<World> {
        @Override
        public String apply(World w) throws Exception {
            return w.load(kernelFd, flags);
        }
    }

    /** kexec_file_load(-1, -1, 0, NULL, UNLOAD), of the crash kernel with {@code crash}. */
    public record Unload(boolean crash) implements Step<World> {
        @Override
        public String apply(World w) throws KernelException {
            w.kernel.kexecFileLoad(-1, -1, MemorySegment.NULL, UNLOAD | (crash ? ON_CRASH : 0));
            return "ok";
        }
    }

    /** /sys/kernel/kexec_loaded and kexec_crash_loaded. */
    public record State() implements Step<World> {
        @Override
        public String apply(World w) throws KernelException {
            return "loaded " + w.sysfs("kexec_loaded") + ", crash " + w.sysfs("kexec_crash_loaded");
        }
    }

    @Override
    public World open(Kernel kernel, Path dir) throws KernelException {
        // the model starts with nothing loaded; so must the real kernel (a previous test may have left a kernel)
        if (kernel.binding() != Binding.SIMULATED) {
            kernel.kexecFileLoad(-1, -1, MemorySegment.NULL, UNLOAD);
            kernel.kexecFileLoad(-1, -1, MemorySegment.NULL, UNLOAD | ON_CRASH);
        }
        return new World(kernel, dir, realLoadOutcomes);
    }

    @Override
    public List<Step<World>> program(Random random) {
        byte[] shadow = base().clone(); // what the image will be, to keep init_size out of the left-out band
        List<Step<World>> steps = new ArrayList<>();
        int count = 1 + random.nextInt(8);
        boolean loaded = false;
        for (int i = 0; i < count; i++) {
            int kind = random.nextInt(100);
            Step<World> step;
            if (kind < 40) {
                step = mutation(random, shadow);
            } else if (kind < 50) {
                step = commandLine(random, shadow);
            } else if (kind < 58) {
                step = initrd(random);
            } else if (kind < 88) {
                step = new Load(kernelFd(random), flags(random));
                loaded = true;
            } else if (kind < 94) {
                step = new Unload(random.nextInt(4) == 0);
            } else {
                step = new State();
            }
            steps.add(step);
        }
        if (!loaded || random.nextBoolean()) {
            steps.add(new Load(kernelFd(random), flags(random)));
        }
        if (random.nextInt(3) == 0) {
            steps.add(new State());
        }
        return steps;
    }

    /** A change to the image that keeps init_size and the jump offset out of what is left out (class comment). */
    private static Step<World> mutation(Random random, byte[] shadow) {
        while (true) {
            Step<World> step = anyMutation(random, shadow.length, setupBytes(shadow));
            byte[] after = shadow.clone();
            if (step instanceof SetByte || step instanceof SetField) {
                try {
                    step.apply(worldOver(after));
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                long initSize = Integer.toUnsignedLong(
                        ByteBuffer.wrap(after).order(ByteOrder.LITTLE_ENDIAN).getInt(BzImageRules.INIT_SIZE));
                if (initSize >= BAND_LOW && initSize < BAND_HIGH || (after[JUMP_OFFSET] & 0x80) != 0) {
                    continue;
                }
                System.arraycopy(after, 0, shadow, 0, shadow.length);
            }
            return step;
        }
    }

    private static World worldOver(byte[] image) {
        World w = new World(null, null, null);
        w.image = image;
        return w;
    }

    private static int setupBytes(byte[] image) {
        int sectors = image[BzImageRules.SETUP_SECTS] & 0xff;
        return ((sectors == 0 ? 4 : sectors) + 1) * 512;
    }

    private static Step<World> anyMutation(Random random, int length, int setupBytes) {
        return switch (random.nextInt(10)) {
            case 0, 1 -> new SetByte(random.nextInt(0x281), random.nextInt(256)); // any byte of the header area
            case 2 -> new SetByte(FIELD_BYTES[random.nextInt(FIELD_BYTES.length)], random.nextInt(256));
            case 3 -> new SetByte(Math.min(length - 1, setupBytes + random.nextInt(64)), random.nextInt(256));
            case 4 -> new SetField(BzImageRules.INIT_SIZE, 4, initSize(random));
            case 5 -> new SetField(BzImageRules.KERNEL_ALIGNMENT, 4, alignment(random));
            case 6 -> switch (random.nextInt(5)) {
                case 0 -> new SetField(PREF_ADDRESS, 8, random.nextLong());
                case 1 -> new SetField(RELOCATABLE_KERNEL, 1, random.nextInt(3) == 0 ? random.nextInt(256) : 0);
                case 2 -> new SetField(MIN_ALIGNMENT, 1, random.nextInt(3) == 0 ? random.nextInt(256) : 12);
                case 3 -> new SetField(BzImageRules.XLOADFLAGS, 2, random.nextBoolean() ? random.nextInt(0x80)
                        : random.nextInt(0x10000));
                default -> new SetField(BzImageRules.CMDLINE_SIZE, 4, cmdlineSize(random));
            };
            case 7 -> switch (random.nextInt(3)) {
                case 0 -> new SetField(BzImageRules.SETUP_SECTS, 1, random.nextInt(4) == 0 ? 0 : random.nextInt(160));
                case 1 -> new SetField(BzImageRules.VERSION, 2, 0x0200 + random.nextInt(0x20));
                default -> new SetField(BzImageRules.LOADFLAGS, 1, random.nextInt(256));
            };
            default -> new Truncate(truncation(random, length, setupBytes));
        };
    }

    private static int truncation(Random random, int length, int setupBytes) {
        return switch (random.nextInt(6)) {
            case 0 -> random.nextInt(length + 1); // anywhere, the payload mostly
            case 1 -> 1024 + random.nextInt(5) - 2; // the probe's minimum
            case 2 -> Math.max(0, Math.min(length, setupBytes + random.nextInt(9) - 4)); // the setup code's end
            case 3 -> 0x1f1 + random.nextInt(0x90); // inside the setup header
            case 4 -> random.nextInt(0x1f1);
            default -> Math.max(0, length - random.nextInt(8192));
        };
    }

    private static long initSize(Random random) {
        int payload = base().length - setupBytes(base());
        return switch (random.nextInt(8)) {
            case 0 -> payload + random.nextInt(3) - 1; // just below, at and above the file's payload
            case 1 -> random.nextInt(2 << 20);
            case 2 -> random.nextInt((int) BAND_LOW);
            case 3 -> random.nextBoolean() ? 0 : 0xffffffffL - random.nextInt(8192); // PAGE_ALIGN wraps to 0
            case 4 -> BAND_HIGH + (random.nextLong() & 0x7fffffffL) % ((1L << 32) - BAND_HIGH); // fail before memory
            case 5 -> 0x80000000L + random.nextInt(8) * 0x10000000L; // about half of the memory
            default -> 1 << (12 + random.nextInt(12)); // 4 KiB .. 8 MiB
        };
    }

    private static long alignment(Random random) {
        return switch (random.nextInt(6)) {
            case 0 -> 1L << random.nextInt(32);
            case 1 -> random.nextLong() & 0xffffffffL;
            case 2 -> (long) (1 + random.nextInt(0x3000)) << 12; // whole pages, rarely a power of two
            case 3 -> random.nextInt(0x10000);
            case 4 -> 0;
            default -> 0x200000;
        };
    }

    private static long cmdlineSize(Random random) {
        return switch (random.nextInt(4)) {
            case 0 -> random.nextInt(64);
            case 1 -> random.nextInt(4200);
            case 2 -> random.nextLong() & 0xffffffffL;
            default -> 2047 + random.nextInt(3) - 1;
        };
    }

    private static Step<World> commandLine(Random random, byte[] shadow) {
        long size = Integer.toUnsignedLong(
                ByteBuffer.wrap(shadow).order(ByteOrder.LITTLE_ENDIAN).getInt(BzImageRules.CMDLINE_SIZE));
        long near = Math.min(size, 4200);
        int length = switch (random.nextInt(5)) {
            case 0 -> 0;
            case 1 -> random.nextInt(64);
            case 2 -> (int) Math.max(0, near - BzImageRules.ELFCOREHDR_RESERVE + random.nextInt(5) - 2);
            case 3 -> (int) Math.max(0, near + random.nextInt(5) - 2);
            default -> random.nextInt(4200);
        };
        boolean terminated = random.nextInt(5) != 0;
        int innerNul = random.nextInt(4) == 0 && length > 0 ? random.nextInt(length) : -1;
        return new CommandLine(length, terminated, innerNul, random.nextInt(30) == 0);
    }

    private static Step<World> initrd(Random random) {
        return switch (random.nextInt(5)) {
            case 0 -> new Initrd("none", 0);
            case 1 -> new Initrd("empty", 0);
            case 2 -> new Initrd("small", 1 + random.nextInt(8192));
            case 3 -> new Initrd("large", (256 << 10) + random.nextInt(768 << 10)); // at most INITRD_BYTES
            default -> new Initrd("writable", 1 + random.nextInt(4096));
        };
    }

    private static String kernelFd(Random random) {
        int r = random.nextInt(20);
        return r < 16 ? "read" : List.of("readwrite", "writeonly", "directory", "none").get(r - 16);
    }

    /**
     * Flags to load with. After 6.12 bits 0x10 (KEXEC_FILE_NO_CMA) and 0x20 (KEXEC_FILE_FORCE_DTB) became flags in
     * releases the model does not pin down (it refuses them there), so for such a release the unknown bit is drawn
     * from the others.
     */
    private long flags(Random random) {
        int kind = random.nextInt(10);
        if (kind == 8 && release.atLeast(6, 13)) {
            int bit = 3 + random.nextInt(59);
            return NO_INITRAMFS | (1L << (bit < 4 ? bit : bit + 2)); // 8, or 0x40 and above
        }
        return switch (kind) {
            case 0, 1, 2, 3 -> NO_INITRAMFS;
            case 4, 5 -> 0;
            case 6 -> ON_CRASH | (random.nextBoolean() ? NO_INITRAMFS : 0);
            case 7 -> UNLOAD | (random.nextBoolean() ? ON_CRASH : 0) | (random.nextBoolean() ? NO_INITRAMFS : 0);
            case 8 -> NO_INITRAMFS | (1L << (3 + random.nextInt(61))); // unknown but 8 (DEBUG, 6.8), 0x10, 0x20 (after 6.12)
            default -> random.nextLong() & 0xf;
        };
    }
}
