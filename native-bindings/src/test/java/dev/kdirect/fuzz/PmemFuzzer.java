package dev.kdirect.fuzz;

import static dev.kdirect.fuzz.MappedPages.PAGE;

import dev.kdirect.Binding;
import dev.kdirect.Credentials;
import dev.kdirect.FallocateFlags;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import dev.kdirect.MapFlags;
import dev.kdirect.MsyncFlags;
import dev.kdirect.OpenFlags;
import dev.kdirect.Prot;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.CRC32;

/**
 * Random programs over one file on the DAX file system (the guest's {@code /mnt/pmem}, or {@code KDIRECT_PMEM_DIR}):
 * open read-write or read-only, ftruncate, fallocate (every mode, invalid combinations included), mmap of the file
 * (shared, shared-validate with and without MAP_SYNC, private; every protection; offsets and lengths past the end of
 * the file), msync, munmap, pread and pwrite (the data compared), fstat's size, and loads and stores through the
 * mappings (the bytes compared). The model's files lie on the same DAX file system, which the model is told is DAX.
 *
 * <p>Left out on the real side, because they would crash or corrupt the test JVM: a load or store through a page of
 * a mapping that lies past the end of the file (SIGBUS; the step answers "past EOF" on both sides, from the file's
 * size), through a page this program unmapped, or through a mapping whose protection forbids it (SIGSEGV); and
 * munmap or msync of memory outside the program's own mappings (another thread's memory). Stores always write
 * non-zero bytes only where the model cannot see them matter: it never reads them, so any value serves.
 */
public final class PmemFuzzer implements Fuzzer<PmemFuzzer.World> {
    private static final long[] LENGTHS = {0, 1, 100, PAGE - 1, PAGE, PAGE + 1, 2 * PAGE, 3 * PAGE, 4 * PAGE + 123,
        8 * PAGE};
    private static final long[] OFFSETS = {0, 0, PAGE, 2 * PAGE, 3 * PAGE, 100, PAGE + 1};
    private static final int[] PROTS = {Prot.READ, Prot.READ_WRITE, Prot.READ_WRITE, Prot.WRITE, Prot.NONE,
        Prot.READ | Prot.EXEC};
    private static final int[] MAP_TYPES = {MapFlags.SHARED, MapFlags.SHARED_VALIDATE,
        MapFlags.SHARED_VALIDATE | MapFlags.SYNC, MapFlags.SHARED_VALIDATE | MapFlags.SYNC, MapFlags.SHARED | MapFlags.SYNC,
        MapFlags.PRIVATE, MapFlags.PRIVATE | MapFlags.SYNC, MapFlags.SHARED | MapFlags.POPULATE,
        MapFlags.PRIVATE | MapFlags.POPULATE, MapFlags.SHARED_VALIDATE | 0x40000000, 0};
    private static final int[] FALLOCATE_MODES = {0, 0, FallocateFlags.KEEP_SIZE,
        FallocateFlags.PUNCH_HOLE | FallocateFlags.KEEP_SIZE, FallocateFlags.PUNCH_HOLE | FallocateFlags.KEEP_SIZE,
        FallocateFlags.PUNCH_HOLE, FallocateFlags.ZERO_RANGE, FallocateFlags.ZERO_RANGE | FallocateFlags.KEEP_SIZE,
        FallocateFlags.COLLAPSE_RANGE, FallocateFlags.INSERT_RANGE, FallocateFlags.COLLAPSE_RANGE
            | FallocateFlags.KEEP_SIZE, FallocateFlags.PUNCH_HOLE | FallocateFlags.ZERO_RANGE
            | FallocateFlags.KEEP_SIZE, FallocateFlags.UNSHARE_RANGE, 0x100};
    private static final int[] MSYNC_FLAGS = {0, MsyncFlags.ASYNC, MsyncFlags.SYNC, MsyncFlags.SYNC, MsyncFlags.INVALIDATE,
        MsyncFlags.ASYNC | MsyncFlags.INVALIDATE, MsyncFlags.SYNC | MsyncFlags.INVALIDATE,
        MsyncFlags.ASYNC | MsyncFlags.SYNC, 8};

    /** The directory holding the DAX file system, where the feature is real; null elsewhere (tried off DAX). */
    private final Path daxRoot;

    public PmemFuzzer() {
        daxRoot = Feature.DAX_PMEM.isAvailable()
                ? Path.of(System.getenv().getOrDefault("KDIRECT_PMEM_DIR", "/mnt/pmem")) : null;
    }

    @Override
    public String name() {
        return "pmem";
    }

    @Override
    public Feature feature() {
        return Feature.DAX_PMEM;
    }

    @Override
    public Kernel model() {
        return Kernels.newSimulated(Credentials.ofCurrentProcess(), daxRoot == null ? List.of() : List.of(daxRoot));
    }

    @Override
    public World open(Kernel kernel, Path dir) throws IOException {
        Path home = daxRoot == null ? dir : Files.createTempDirectory(daxRoot, "fuzz-");
        return new World(kernel, home, daxRoot != null);
    }

    @Override
    public List<Step<World>> program(Random random) {
        List<Step<World>> steps = new ArrayList<>();
        if (random.nextInt(10) < 9) {
            steps.add(new Open(random.nextInt(6) > 0));
            steps.add(new Truncate(0, pick(random, LENGTHS) + PAGE * random.nextInt(3)));
        }
        int length = 6 + random.nextInt(14);
        while (steps.size() < length) {
            int fd = slot(random);
            int map = slot(random);
            steps.add(switch (random.nextInt(20)) {
                case 0 -> new Open(random.nextInt(4) > 0);
                case 1 -> new Close(fd);
                case 2, 3 -> new Truncate(fd, pick(random, LENGTHS) + PAGE * random.nextInt(3));
                case 4, 5 -> new Fallocate(fd, pick(random, FALLOCATE_MODES), pick(random, OFFSETS),
                        random.nextBoolean() ? PAGE * (1 + random.nextInt(3)) : pick(random, LENGTHS));
                case 6, 7, 8 -> new Map(fd, pick(random, PROTS), pick(random, MAP_TYPES), pick(random, OFFSETS)
                        & -(random.nextInt(8) == 0 ? 1 : PAGE), pick(random, LENGTHS));
                case 9 -> new Unmap(map, random.nextInt(3), random.nextInt(4), random.nextInt(10) == 0);
                case 10, 11 -> new Msync(map, random.nextInt(3) * PAGE + (random.nextInt(6) == 0 ? 17 : 0),
                        pick(random, LENGTHS), pick(random, MSYNC_FLAGS));
                case 12, 13 -> new Write(fd, pick(random, OFFSETS) + random.nextInt(3) * PAGE,
                        (int) pick(random, LENGTHS), (byte) (1 + random.nextInt(255)));
                case 14 -> new Read(fd, pick(random, OFFSETS) + random.nextInt(3) * PAGE, (int) pick(random, LENGTHS));
                case 15 -> new Size(fd);
                case 16, 17 -> new Store(map, random.nextInt((int) (3 * PAGE)), 1 + random.nextInt(200),
                        (byte) (1 + random.nextInt(255)));
                default -> new Load(map, random.nextInt((int) (3 * PAGE)), 1 + random.nextInt(300));
            });
        }
        return steps;
    }

    /**
     * A munmap or msync over pages this program unmapped already touches whatever another thread of this JVM
     * mapped there since: the real side cannot run it.
     */
    @Override
    public String interference(World realWorld, Step<World> step) throws IOException {
        long from;
        long to;
        Mapping m;
        if (step instanceof Unmap u && realWorld.mapping(u.map()) != null) {
            m = realWorld.mapping(u.map());
            from = Math.min(u.first() * PAGE, m.length);
            to = Math.min(from + u.pages() * PAGE, m.length);
        } else if (step instanceof Msync s && realWorld.mapping(s.map()) != null) {
            m = realWorld.mapping(s.map());
            from = Math.min(s.from(), m.length) & -PAGE;
            to = Math.min(m.length, (from + s.length() + PAGE - 1) & -PAGE);
        } else {
            return null;
        }
        return m.reusedHole(from, to);
    }

    /** A slot: mostly the first, sometimes the second, now and then one rarely made (a missing handle). */
    private static int slot(Random random) {
        int r = random.nextInt(8);
        return r < 5 ? 0 : r < 7 ? 1 : 2;
    }

    private static long pick(Random random, long[] values) {
        return values[random.nextInt(values.length)];
    }

    private static int pick(Random random, int[] values) {
        return values[random.nextInt(values.length)];
    }

    /** One mapping of the file the program made. */
    static final class Mapping extends MappedPages {
        final int prot;
        final long fileOffset;

        Mapping(MemorySegment base, long length, int prot, long fileOffset) {
            super(base, length);
            this.prot = prot;
            this.fileOffset = fileOffset;
        }
    }

    /** The file, the descriptors open on it and the mappings of it, on one kernel. */
    public static final class World implements AutoCloseable {
        final Kernel kernel;
        final Path home;
        final Path file;
        final boolean ownHome;
        final List<Integer> fds = new ArrayList<>();
        final List<Mapping> mappings = new ArrayList<>();
        final Arena arena = Arena.ofConfined();

        World(Kernel kernel, Path home, boolean ownHome) {
            this.kernel = kernel;
            this.home = home;
            this.file = home.resolve("file");
            this.ownHome = ownHome;
        }

        Integer fd(int slot) {
            return slot < fds.size() ? fds.get(slot) : null;
        }

        Mapping mapping(int slot) {
            return slot < mappings.size() ? mappings.get(slot) : null;
        }

        /** A step on mapping {@code slot}: what it answers, or "no mapping" where the slot holds none. */
        interface MappingCall {
            String call(Mapping m) throws Exception;
        }

        String onMapping(int slot, MappingCall call) throws Exception {
            Mapping m = mapping(slot);
            return m == null ? "no mapping" : call.call(m);
        }

        /** The file's size now, read apart from the kernel under test (the step decides what is safe to touch). */
        long fileSize() throws IOException {
            return Files.exists(file) ? Files.size(file) : 0;
        }

        boolean isModel() {
            return kernel.binding() == Binding.SIMULATED;
        }

        @Override
        public void close() throws dev.kdirect.KernelException, IOException {
            for (Mapping m : mappings) {
                m.unmapRest(kernel);
            }
            for (Integer fd : fds) {
                if (fd != null) {
                    kernel.close(fd);
                }
            }
            arena.close();
            if (ownHome) {
                try (Stream<Path> tree = Files.walk(home)) {
                    for (Path p : tree.sorted(Comparator.reverseOrder()).toList()) {
                        Files.deleteIfExists(p);
                    }
                }
            }
        }
    }

    /** Data compared between the kernels: its length and CRC-32. */
    static String digest(MemorySegment data) {
        CRC32 crc = new CRC32();
        crc.update(data.asByteBuffer());
        return data.byteSize() + " bytes crc " + Long.toHexString(crc.getValue());
    }

    /** open(file, (write ? O_RDWR : O_RDONLY) | O_CREAT | O_CLOEXEC, 0600): a new descriptor slot. */
    public record Open(boolean write) implements Step<World> {
        @Override
        public String apply(World w) throws Exception {
            int fd = w.kernel.open(w.file.toString(), (write ? OpenFlags.RDWR : OpenFlags.RDONLY) | OpenFlags.CREAT
                    | OpenFlags.CLOEXEC, 0600);
            w.fds.add(fd);
            return "ok";
        }
    }

    /** close of a descriptor slot; the slot stays, empty. */
    public record Close(int fd) implements Step<World> {
        @Override
        public String apply(World w) throws Exception {
            Integer d = w.fd(fd);
            if (d == null) {
                return "no descriptor";
            }
            w.fds.set(fd, null);
            w.kernel.close(d);
            return "ok";
        }
    }

    public record Truncate(int fd, long length) implements Step<World> {
        @Override
        public String apply(World w) throws Exception {
            Integer d = w.fd(fd);
            if (d == null) {
                return "no descriptor";
            }
            w.kernel.ftruncate(d, length);
            return "ok";
        }
    }

    public record Fallocate(int fd, int mode, long offset, long length) implements Step<World> {
        @Override
        public String apply(World w) throws Exception {
            Integer d = w.fd(fd);
            if (d == null) {
                return "no descriptor";
            }
            w.kernel.fallocate(d, mode, offset, length);
            return "ok";
        }
    }

    /** mmap of the file through a descriptor slot: a new mapping slot. */
    public record Map(int fd, int prot, int flags, long offset, long length) implements Step<World> {
        @Override
        public String apply(World w) throws Exception {
            Integer d = w.fd(fd);
            if (d == null) {
                return "no descriptor";
            }
            MemorySegment base = w.kernel.mmap(MemorySegment.NULL, length, prot, flags, d, offset);
            w.mappings.add(new Mapping(base.reinterpret((length + PAGE - 1) & -PAGE), (length + PAGE - 1) & -PAGE,
                    prot, offset));
            return "ok";
        }
    }

    /**
     * munmap of {@code pages} pages from page {@code first} of a mapping, clipped to it (0 pages: length 0); with
     * {@code unaligned}, from one byte in.
     */
    public record Unmap(int map, int first, int pages, boolean unaligned) implements Step<World> {
        @Override
        public String apply(World w) throws Exception {
            return w.onMapping(map, m -> {
                long from = Math.min(first * PAGE, m.length);
                long length = m.clip(from, pages * PAGE);
                w.kernel.munmap(MemorySegment.ofAddress(m.base.address() + from + (unaligned ? 1 : 0)), length);
                m.unmapped(from, length);
                return "ok";
            });
        }
    }

    /** msync of a range of a mapping, clipped to it, with any flags (MS_ASYNC, MS_SYNC, MS_INVALIDATE, others). */
    public record Msync(int map, long from, long length, int flags) implements Step<World> {
        @Override
        public String apply(World w) throws Exception {
            return w.onMapping(map, m -> {
                long start = Math.min(from, m.length);
                long count = Math.min(length, m.length - start);
                w.kernel.msync(MemorySegment.ofAddress(m.base.address() + start), count, flags);
                return "ok";
            });
        }
    }

    public record Write(int fd, long offset, int length, byte fill) implements Step<World> {
        @Override
        public String apply(World w) throws Exception {
            Integer d = w.fd(fd);
            if (d == null) {
                return "no descriptor";
            }
            MemorySegment data = w.arena.allocate(Math.max(1, length)).asSlice(0, length);
            data.fill(fill);
            return Long.toString(w.kernel.pwrite(d, data, offset));
        }
    }

    public record Read(int fd, long offset, int length) implements Step<World> {
        @Override
        public String apply(World w) throws Exception {
            Integer d = w.fd(fd);
            if (d == null) {
                return "no descriptor";
            }
            MemorySegment data = w.arena.allocate(Math.max(1, length)).asSlice(0, length);
            long n = w.kernel.pread(d, data, offset);
            return digest(data.asSlice(0, n));
        }
    }

    public record Size(int fd) implements Step<World> {
        @Override
        public String apply(World w) throws Exception {
            Integer d = w.fd(fd);
            if (d == null) {
                return "no descriptor";
            }
            return Long.toString(w.kernel.fstat(d).size());
        }
    }

    /** Why an access of {@code [offset, offset + length)} of a mapping must not run, or null. */
    static String unsafe(World w, Mapping m, long offset, long length, int needed) throws IOException {
        if (offset + length > m.length) {
            return "past the mapping";
        }
        if (!m.allMapped(offset, offset + length)) {
            return "unmapped";
        }
        if ((m.prot & needed) != needed) {
            return "protection";
        }
        // a page wholly past the end of the file is SIGBUS on access (filemap_fault, dax_iomap_fault)
        long lastPage = m.fileOffset + ((offset + length - 1) & -PAGE);
        if (lastPage >= w.fileSize()) {
            return "past EOF";
        }
        return null;
    }

    /** Stores {@code fill} into bytes of a mapping, where that cannot fault. */
    public record Store(int map, long offset, int length, byte fill) implements Step<World> {
        @Override
        public String apply(World w) throws Exception {
            return w.onMapping(map, m -> {
                String unsafe = unsafe(w, m, offset, length, Prot.WRITE);
                if (unsafe != null) {
                    return unsafe;
                }
                m.base.asSlice(offset, length).fill(fill);
                return "ok";
            });
        }
    }

    /** Loads bytes of a mapping, where that cannot fault: their digest. */
    public record Load(int map, long offset, int length) implements Step<World> {
        @Override
        public String apply(World w) throws Exception {
            return w.onMapping(map, m -> {
                String unsafe = unsafe(w, m, offset, length, Prot.READ);
                if (unsafe != null) {
                    return unsafe;
                }
                return digest(m.base.asSlice(offset, length));
            });
        }
    }
}
