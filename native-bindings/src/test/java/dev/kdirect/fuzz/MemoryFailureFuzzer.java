package dev.kdirect.fuzz;

import static dev.kdirect.fuzz.MappedPages.PAGE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.kdirect.Advice;
import dev.kdirect.Binding;
import dev.kdirect.Credentials;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import dev.kdirect.MapFlags;
import dev.kdirect.OpenFlags;
import dev.kdirect.Prot;
import dev.kdirect.testing.SimulatedMachine;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;

/**
 * Random programs of memory-failure injection on anonymous memory: mmap (private or shared, populated or not, every
 * protection), loads and stores from Java, mprotect, MADV_HWPOISON and MADV_SOFT_OFFLINE (whole ranges, single
 * bytes, holes, pages never written: the shared zero page), MADV_POPULATE_READ / WRITE, MADV_DONTNEED, pread into
 * and pwrite from the mappings through a file (poisoned pages give EFAULT or a short count), munmap.
 *
 * <p>Left out on the real side, because they would bring the JVM down: a load or store from Java through a page
 * the program ever tried to poison (SIGBUS; the step answers "poisoned" on both sides without touching it, even
 * after MADV_DONTNEED made a private page fresh again), through a page it unmapped, or one its protection forbids
 * (SIGSEGV); and any call on memory outside the program's own mappings (another thread's memory could be
 * poisoned). Stores write non-zero values: the model cannot see a plain store, and takes a page holding only zeros
 * for one never written (the shared zero page); a store of zeros it would misjudge (see docs/architecture.md).
 * Each mapping is advised MADV_NOHUGEPAGE, so that it never merges with a neighbour of the JVM's into a huge page
 * an injection would take down whole. Programs run in a child JVM ({@link FuzzInChildJvm}): poisoned frames stay
 * poisoned for the boot. On kernels that pass MF_ACTION_REQUIRED from madvise (6.11 and later, see pmem's
 * MemoryFailure) a successful MADV_HWPOISON sends SIGBUS to the calling thread inside the downcall, which kills the
 * JVM: there the programs leave MADV_HWPOISON out ({@link #hwpoison}).
 */
public final class MemoryFailureFuzzer implements Fuzzer<MemoryFailureFuzzer.World> {
    private static final int[] ADVICE = {Advice.HWPOISON, Advice.HWPOISON, Advice.HWPOISON, Advice.SOFT_OFFLINE,
        Advice.SOFT_OFFLINE, Advice.POPULATE_READ, Advice.POPULATE_READ, Advice.POPULATE_WRITE,
        Advice.POPULATE_WRITE, Advice.DONTNEED};
    private static final int[] ADVICE_WITHOUT_HWPOISON = {Advice.SOFT_OFFLINE, Advice.SOFT_OFFLINE,
        Advice.POPULATE_READ, Advice.POPULATE_READ, Advice.POPULATE_WRITE, Advice.POPULATE_WRITE, Advice.DONTNEED};

    private boolean zeroPagePoisoned;

    /** Whether programs inject MADV_HWPOISON: not where the kernel would signal the injecting thread. */
    final boolean hwpoison;

    public MemoryFailureFuzzer() {
        hwpoison = !signalsInsideMadvise(release());
    }

    static String release() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * Whether {@code release} is 6.11 or later, whose madvise(MADV_HWPOISON) passes MF_ACTION_REQUIRED to
     * memory_failure (mm/madvise.c madvise_inject_error) and so signals the caller (the rule pmem's MemoryFailure
     * follows too).
     */
    static boolean signalsInsideMadvise(String release) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("^(\\d+)\\.(\\d+)").matcher(release);
        return m.find() && (Integer.parseInt(m.group(1)) > 6
                || Integer.parseInt(m.group(1)) == 6 && Integer.parseInt(m.group(2)) >= 11);
    }
    private static final int[] PROTS = {Prot.READ_WRITE, Prot.READ_WRITE, Prot.READ_WRITE, Prot.READ, Prot.NONE};
    private static final int FILE_BYTES = (int) (4 * PAGE);

    @Override
    public String name() {
        return "memory-failure";
    }

    @Override
    public Feature feature() {
        return Feature.MEMORY_FAILURE;
    }

    /** A fresh model of a machine whose zero page is poisoned exactly when the real machine's is now. */
    @Override
    public Kernel model() {
        Kernel model = Kernels.newSimulated(Credentials.ofCurrentProcess(), List.of());
        try {
            // once poisoned, the zero page stays so until the machine reboots: looked up until then
            zeroPagePoisoned = zeroPagePoisoned || Feature.MEMORY_FAILURE.isAvailable() && realZeroPagePoisoned();
            if (zeroPagePoisoned) {
                SimulatedMachine.poisonZeroPage(model);
            }
        } catch (Exception e) {
            throw new IllegalStateException("cannot read the real zero page's flags", e);
        }
        return model;
    }

    /** The HWPOISON bit (19) of the zero page in /proc/kpageflags, found through a read fault and pagemap. */
    static boolean realZeroPagePoisoned() throws Exception {
        Kernel real = Kernels.of(Binding.FFM);
        MemorySegment page = real.mmap(MemorySegment.NULL, PAGE, Prot.READ, MapFlags.PRIVATE | MapFlags.ANONYMOUS,
                -1, 0).reinterpret(PAGE);
        try {
            page.get(JAVA_LONG, 0); // maps the shared zero page
            long entry = readLong("/proc/self/pagemap", page.address() / PAGE * 8);
            if (entry >= 0) {
                throw new IllegalStateException("the zero page is not present after a read fault: " + entry);
            }
            long pfn = entry & ((1L << 55) - 1);
            if (pfn == 0) {
                throw new IllegalStateException("pagemap hides PFNs (not root?)");
            }
            return (readLong("/proc/kpageflags", pfn * 8) & (1L << 19)) != 0;
        } finally {
            real.munmap(page, PAGE);
        }
    }

    private static long readLong(String file, long offset) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file, "r")) {
            f.seek(offset);
            return Long.reverseBytes(f.readLong()); // little-endian
        }
    }

    @Override
    public World open(Kernel kernel, Path dir) throws Exception {
        return new World(kernel, dir);
    }

    @Override
    public List<Step<World>> program(Random random) {
        List<Step<World>> steps = new ArrayList<>();
        int length = 5 + random.nextInt(13);
        steps.add(new Map(random.nextInt(3) == 0, 1 + random.nextInt(4), pick(random, PROTS), random.nextInt(4) == 0));
        while (steps.size() < length) {
            int map = random.nextInt(2);
            int page = random.nextInt(4);
            steps.add(switch (random.nextInt(16)) {
                case 0 -> new Map(random.nextInt(3) == 0, 1 + random.nextInt(4), pick(random, PROTS),
                        random.nextInt(4) == 0);
                case 1, 2, 3 -> new Touch(map, page, random.nextInt(3) > 0, 1 + random.nextInt(1000));
                case 4, 5, 6, 7, 8 -> new Advise(map, page, random.nextInt(3),
                        pick(random, hwpoison ? ADVICE : ADVICE_WITHOUT_HWPOISON),
                        random.nextInt(8) == 0 ? 1 : 0);
                case 9 -> new Protect(map, pick(random, PROTS));
                case 10, 11 -> new Write(map, page, random.nextBoolean() ? 0 : PAGE - 8,
                        random.nextBoolean() ? 16 : PAGE * (1 + random.nextInt(2)));
                case 12, 13 -> new Read(map, page, random.nextBoolean() ? 0 : PAGE - 8,
                        random.nextBoolean() ? 16 : PAGE * (1 + random.nextInt(2)));
                case 14 -> new Unmap(map, page, 1 + random.nextInt(2));
                default -> new FileDigest();
            });
        }
        return steps;
    }

    private static int pick(Random random, int[] values) {
        return values[random.nextInt(values.length)];
    }

    /** One anonymous mapping: its pages still mapped, and those the program ever tried to poison. */
    static final class Mapping extends MappedPages {
        final int pages;
        final boolean shared;
        int prot;
        final BitSet tainted = new BitSet();

        Mapping(MemorySegment base, int pages, boolean shared, int prot) {
            super(base, pages * PAGE);
            this.pages = pages;
            this.shared = shared;
            this.prot = prot;
        }
    }

    /** The mappings and one file on one kernel. */
    public static final class World implements AutoCloseable {
        final Kernel kernel;
        final Path file;
        final int fd;
        final List<Mapping> mappings = new ArrayList<>();

        World(Kernel kernel, Path dir) throws Exception {
            this.kernel = kernel;
            this.file = dir.resolve("file");
            byte[] content = new byte[FILE_BYTES];
            for (int i = 0; i < content.length; i++) {
                content[i] = (byte) (1 + i % 251); // no zero byte: see the class comment on stores
            }
            Files.write(file, content);
            this.fd = kernel.open(file.toString(), OpenFlags.RDWR | OpenFlags.CLOEXEC, 0);
        }

        Mapping mapping(int slot) {
            return slot < mappings.size() ? mappings.get(slot) : null;
        }

        @Override
        public void close() throws dev.kdirect.KernelException {
            for (Mapping m : mappings) {
                m.unmapRest(kernel);
            }
            kernel.close(fd);
        }
    }

    public record Map(boolean shared, int pages, int prot, boolean populate) implements Step<World> {
        @Override
        public String apply(World w) throws Exception {
            long length = pages * PAGE;
            MemorySegment base = w.kernel.mmap(MemorySegment.NULL, length, prot, (shared ? MapFlags.SHARED
                    : MapFlags.PRIVATE) | MapFlags.ANONYMOUS | (populate ? MapFlags.POPULATE : 0), -1, 0)
                    .reinterpret(length);
            w.mappings.add(new Mapping(base, pages, shared, prot));
            w.kernel.madvise(base, length, Advice.NOHUGEPAGE);
            return "ok";
        }
    }

    /** A load or a store of {@code value} from Java at the start of a page, where it cannot fault. */
    public record Touch(int map, int page, boolean write, long value) implements Step<World> {
        @Override
        public String apply(World w) {
            Mapping m = w.mapping(map);
            if (m == null || page >= m.pages || !m.isMapped(page)) {
                return "no page";
            }
            if (m.tainted.get(page)) {
                return "poisoned";
            }
            if ((m.prot & (write ? Prot.WRITE : Prot.READ)) == 0) {
                return "protection";
            }
            if (write) {
                m.base.set(JAVA_LONG, page * PAGE, value);
                return "ok";
            }
            return Long.toString(m.base.get(JAVA_LONG, page * PAGE));
        }
    }

    /**
     * madvise of {@code pages} pages from page {@code first} (0 pages: length 0), clipped to the mapping; with
     * {@code bytes} 1, of one byte only.
     */
    public record Advise(int map, int first, int pages, int advice, int bytes) implements Step<World> {
        @Override
        public String apply(World w) throws Exception {
            Mapping m = w.mapping(map);
            if (m == null) {
                return "no mapping";
            }
            long from = Math.min(first * PAGE, m.pages * PAGE);
            long length = bytes == 1 && pages > 0 ? m.clip(from, 1) : m.clip(from, pages * PAGE);
            if (advice == Advice.HWPOISON) {
                m.tainted.set((int) (from / PAGE), (int) ((from + length + PAGE - 1) / PAGE));
            }
            w.kernel.madvise(m.base.asSlice(from, 0), length, advice);
            return "ok";
        }
    }

    public record Protect(int map, int prot) implements Step<World> {
        @Override
        public String apply(World w) throws Exception {
            Mapping m = w.mapping(map);
            if (m == null) {
                return "no mapping";
            }
            if (!m.allMapped(0, m.pages * PAGE)) {
                return "partly unmapped"; // mprotect stops at the hole: which pages changed would need tracking
            }
            w.kernel.mprotect(m.base, m.pages * PAGE, prot);
            m.prot = prot;
            return "ok";
        }
    }

    /** pwrite to the file from {@code length} bytes of the mapping at page {@code page} plus {@code offset}. */
    public record Write(int map, int page, long offset, long length) implements Step<World> {
        @Override
        public String apply(World w) throws Exception {
            Mapping m = w.mapping(map);
            if (m == null) {
                return "no mapping";
            }
            return Long.toString(w.kernel.pwrite(w.fd, m.slice(page * PAGE + offset, length), 0));
        }
    }

    /** pread from the file into the mapping. */
    public record Read(int map, int page, long offset, long length) implements Step<World> {
        @Override
        public String apply(World w) throws Exception {
            Mapping m = w.mapping(map);
            if (m == null) {
                return "no mapping";
            }
            return Long.toString(w.kernel.pread(w.fd, m.slice(page * PAGE + offset, length), PAGE));
        }
    }

    public record Unmap(int map, int page, int pages) implements Step<World> {
        @Override
        public String apply(World w) throws Exception {
            Mapping m = w.mapping(map);
            if (m == null) {
                return "no mapping";
            }
            long from = Math.min(page * PAGE, m.pages * PAGE);
            long length = m.clip(from, pages * PAGE);
            w.kernel.munmap(m.base.asSlice(from, 0), length);
            m.unmapped(from, length);
            return "ok";
        }
    }

    /** The file's content, read apart from the kernel under test: what the pwrites left. */
    public record FileDigest() implements Step<World> {
        @Override
        public String apply(World w) throws IOException {
            CRC32 crc = new CRC32();
            byte[] bytes = Files.readAllBytes(w.file);
            crc.update(bytes);
            return bytes.length + " bytes crc " + Long.toHexString(crc.getValue());
        }
    }

    /** Any call over pages the program unmapped could reach what another thread of the JVM mapped there since. */
    @Override
    public String interference(World realWorld, Step<World> step) throws IOException {
        Mapping m;
        long from;
        long length;
        if (step instanceof Advise a && (m = realWorld.mapping(a.map())) != null) {
            from = Math.min(a.first() * PAGE, m.pages * PAGE);
            length = m.clip(from, a.pages() * PAGE);
        } else if (step instanceof Write s && (m = realWorld.mapping(s.map())) != null) {
            from = Math.min(s.page() * PAGE + s.offset(), m.pages * PAGE);
            length = m.clip(from, s.length());
        } else if (step instanceof Read s && (m = realWorld.mapping(s.map())) != null) {
            from = Math.min(s.page() * PAGE + s.offset(), m.pages * PAGE);
            length = m.clip(from, s.length());
        } else if (step instanceof Unmap s && (m = realWorld.mapping(s.map())) != null) {
            from = Math.min(s.page() * PAGE, m.pages * PAGE);
            length = m.clip(from, s.pages() * PAGE);
        } else {
            return null;
        }
        long start = from & -PAGE;
        long end = (from + length + PAGE - 1) & -PAGE;
        return m.reusedHole(start, end);
    }
}
