package dev.kdirect.fuzz;

import dev.kdirect.Advice;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.MapFlags;
import dev.kdirect.MsyncFlags;
import dev.kdirect.Prot;
import dev.kdirect.fuzz.MemoryWorld.Slot;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

/**
 * Random programs of anonymous mmap, mprotect, pkey_mprotect, munmap, madvise, copies into and out of the mappings
 * (pread and pwrite of a data file, which return EFAULT where the calling thread may not access a page) and the
 * protection-key calls, each step on one of a few worker threads, which steps may start from one another (a new
 * thread inherits its creator's PKRU).
 *
 * <p>Left out because they would crash or corrupt the test JVM on the real side: loads and stores through the
 * program's mappings from Java (a key or PROT_NONE would crash it; copies by the kernel return EFAULT instead);
 * {@code pkey_set(0, rights)} with rights other than 0 and {@code pkey_free(0)} (after which pkey_alloc hands out key
 * 0, with rights): key 0 tags every page of the JVM, its stacks included; MADV_HWPOISON and MADV_SOFT_OFFLINE (the
 * memory-failure fuzzer's); ranges beyond a slot's reservation, and lengths large enough to reach other mappings (a
 * negative length is passed only where the kernel rejects it before any page). Steps over pages the program
 * unmapped are checked for other mappings there first ({@link #interference}).
 *
 * <p>The execute-only key: the first PROT_EXEC-only mmap or mprotect of a process takes a key for good
 * (arch/x86/mm/pkeys.c), and the real side is one process for the whole run. So each world starts from the real
 * process's key state: the real world takes the execute-only key (a prologue) and finds which key it is (smaps'
 * ProtectionKey) and which keys others hold (once per run: each world's close frees the keys its program took); the
 * model world takes the same keys in the same order. The worlds' first two worker threads are kept across programs
 * (thread creation is slow under emulation); the real world's close resets their PKRU to the init value, which a
 * fresh model's threads have. Threads a program starts are new, and end with its world.
 */
public final class MemoryFuzzer implements Fuzzer<MemoryWorld> {
    private static final int ANON = MapFlags.ANONYMOUS;
    private static final int[] COMMON_ADVICE = {Advice.NORMAL, Advice.RANDOM, Advice.SEQUENTIAL, Advice.WILLNEED,
        Advice.DONTNEED, Advice.FREE, Advice.REMOVE, Advice.DONTFORK, Advice.DOFORK, Advice.MERGEABLE,
        Advice.UNMERGEABLE, Advice.HUGEPAGE, Advice.NOHUGEPAGE, Advice.DONTDUMP, Advice.DODUMP, Advice.WIPEONFORK,
        Advice.KEEPONFORK, Advice.COLD, Advice.PAGEOUT, Advice.POPULATE_READ, Advice.POPULATE_WRITE,
        Advice.DONTNEED_LOCKED};
    private static final int[] FREQUENT_ADVICE = {Advice.DONTNEED, Advice.FREE, Advice.REMOVE, Advice.POPULATE_READ,
        Advice.POPULATE_WRITE};
    private static final int[] INVALID_ADVICE = {5, 6, 7, 26, 99, -1, Advice.COLLAPSE};

    private final boolean pkeys;
    /** What the real world found at its opening: the execute-only key (0: none) and the keys others hold. */
    private int executeOnlyKey;
    private Set<Integer> heldKeys = Set.of();
    private boolean keysFound;
    private static volatile Integer processExecuteOnlyKey;
    /** The worker threads every world starts with, created once from the thread that runs the programs. */
    private final List<MemoryWorld.Worker> baseWorkers = new ArrayList<>();
    private Path dataFile;

    public MemoryFuzzer() {
        this(true);
    }

    /** @param pkeys whether programs use protection keys (false where the CPU lacks PKU: glibc's pkey_set would trap) */
    public MemoryFuzzer(boolean pkeys) {
        this.pkeys = pkeys;
    }

    @Override
    public String name() {
        return "memory";
    }

    @Override
    public Feature feature() {
        return Feature.PKEYS;
    }

    @Override
    public MemoryWorld open(Kernel kernel, Path dir) throws Exception {
        while (baseWorkers.size() < MemoryWorld.INITIAL_THREADS) {
            baseWorkers.add(new MemoryWorld.Worker());
        }
        if (dataFile == null) {
            dataFile = MemoryWorld.dataFile();
        }
        MemoryWorld world = new MemoryWorld(kernel, dataFile, baseWorkers, pkeys);
        try {
            if (pkeys) {
                if (world.isModel()) {
                    takeKeysAsTheRealProcessHolds(kernel);
                } else if (!keysFound) {
                    findRealKeys(kernel); // once: the world's close gives back what a program took
                    keysFound = true;
                }
            }
        } catch (Exception | Error e) {
            world.close();
            throw e;
        }
        return world;
    }

    private void findRealKeys(Kernel kernel) throws Exception {
        if (processExecuteOnlyKey == null) {
            MemorySegment m = kernel.mmap(MemorySegment.NULL, kernel.pageSize(), Prot.EXEC,
                    MapFlags.PRIVATE | ANON, -1, 0);
            try {
                processExecuteOnlyKey = protectionKeyOf(m.address());
            } finally {
                kernel.munmap(m, kernel.pageSize());
            }
        }
        executeOnlyKey = processExecuteOnlyKey;
        Set<Integer> held = new TreeSet<>();
        for (int key = 1; key < 16; key++) {
            held.add(key);
        }
        held.remove(executeOnlyKey);
        List<Integer> free = new ArrayList<>();
        try {
            while (free.size() < 16) {
                free.add(kernel.pkeyAlloc(0, 1)); // DISABLE_ACCESS: the init PKRU's rights, so PKRU stays as it was
            }
        } catch (KernelException e) {
            // ENOSPC: every key is taken
        }
        for (int key : free) {
            kernel.pkeyFree(key);
        }
        held.removeAll(free);
        heldKeys = held;
    }

    /** The key smaps reports for the mapping at {@code address} (x86 with PKU), or 0. */
    private static int protectionKeyOf(long address) throws IOException {
        String start = Long.toHexString(address) + "-";
        boolean inside = false;
        for (String line : Files.readAllLines(Path.of("/proc/self/smaps"))) {
            if (line.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
                inside = line.startsWith(start);
            } else if (inside && line.startsWith("ProtectionKey:")) {
                return Integer.parseInt(line.substring("ProtectionKey:".length()).strip());
            }
        }
        return 0;
    }

    /** The model takes the keys in the order the real process took them: the execute-only key when it was lowest. */
    private void takeKeysAsTheRealProcessHolds(Kernel kernel) throws KernelException {
        int highest = heldKeys.stream().mapToInt(i -> i).max().orElse(0);
        List<Integer> taken = new ArrayList<>();
        for (int key = 1; key <= Math.max(highest, executeOnlyKey); key++) {
            if (key == executeOnlyKey) {
                MemoryWorld.touchExecuteOnly(kernel);
            } else {
                taken.add(kernel.pkeyAlloc(0, 1));
            }
        }
        for (int key : taken) {
            if (!heldKeys.contains(key)) {
                kernel.pkeyFree(key);
            }
        }
    }

    @Override
    public String interference(MemoryWorld world, Step<MemoryWorld> step) throws Exception {
        if (!(step instanceof Ranged r) || world.slots[r.slot()] == null) {
            return null;
        }
        Slot s = world.slots[r.slot()];
        long offset = Math.min(r.offset(), s.bytes);
        long length = world.length(s, r.offset(), r.length());
        if (length < 0) {
            return null;
        }
        long first = offset / world.page;
        long end = step instanceof CopyIn || step instanceof CopyOut ? offset + length
                : offset + ((length + world.page - 1) & -world.page);
        if (r instanceof Protect p && (p.prot() & Prot.GROWSDOWN) != 0
                || r instanceof PkeyProtect q && (q.prot() & Prot.GROWSDOWN) != 0) {
            first = 0; // the change may reach down to the start of the area
        }
        int lastPage = (int) Math.min((end + world.page - 1) / world.page, s.bytes / world.page);
        int hole = s.holes.nextSetBit((int) first);
        if (hole < 0 || hole >= lastPage) {
            return null;
        }
        for (int p = hole; p >= 0 && p < lastPage; p = s.holes.nextSetBit(p + 1)) {
            // msync fails with ENOMEM on a page nothing maps (mm/msync.c): one call, where /proc/self/maps is long
            try {
                world.kernel.msync(MemoryWorld.at(s.base + p * world.page, world.page), world.page, MsyncFlags.ASYNC);
                return "another mapping lies in a hole the program made in slot " + r.slot() + ", page " + p;
            } catch (KernelException e) {
                // ENOMEM: still a hole
            }
        }
        return null;
    }

    /** The hole check of {@link #interference}, again after the step: another mapping may have come meanwhile. */
    @Override
    public String interferenceDuring(MemoryWorld world, Step<MemoryWorld> step) throws Exception {
        return interference(world, step);
    }

    @Override
    public List<Step<MemoryWorld>> program(Random random) {
        int[] pages = {4, 4, 4, 4};
        List<Step<MemoryWorld>> steps = new ArrayList<>();
        int length = 6 + random.nextInt(25);
        for (int i = 0; i < length; i++) {
            int thread = random.nextInt(10) < 7 ? random.nextInt(2) : random.nextInt(MemoryWorld.MAX_THREADS);
            int slot = random.nextInt(MemoryWorld.SLOTS);
            int roll = random.nextInt(100);
            if (i < 2 || roll < 14) {
                int n = 1 + random.nextInt(8);
                pages[slot] = n;
                long bytes = n * 4096L;
                int r = random.nextInt(20);
                if (r == 0) {
                    bytes = 0;
                } else if (r == 1) {
                    bytes -= 1 + random.nextInt(4095);
                } else if (r == 2) {
                    bytes = -1;
                }
                steps.add(new Map(thread, slot, bytes, prot(random, false), mapFlags(random)));
            } else if (roll < 22) {
                steps.add(new Unmap(thread, slot, offset(random, pages[slot]), length(random, pages[slot])));
            } else if (roll < 36) {
                steps.add(new Protect(thread, slot, offset(random, pages[slot]), length(random, pages[slot]),
                        prot(random, true)));
            } else if (roll < 52) {
                int advice = random.nextInt(10) < 4 ? FREQUENT_ADVICE[random.nextInt(FREQUENT_ADVICE.length)]
                        : random.nextInt(20) == 0 ? INVALID_ADVICE[random.nextInt(INVALID_ADVICE.length)]
                        : COMMON_ADVICE[random.nextInt(COMMON_ADVICE.length)];
                steps.add(new Advise(thread, slot, offset(random, pages[slot]), length(random, pages[slot]), advice));
            } else if (roll < 58) {
                steps.add(new CopyIn(thread, slot, offset(random, pages[slot]),
                        Math.max(0, length(random, pages[slot]))));
            } else if (roll < 66) {
                steps.add(new CopyOut(thread, slot, offset(random, pages[slot]),
                        Math.max(0, length(random, pages[slot]))));
            } else if (roll < 70) {
                steps.add(new StartThread(thread));
            } else if (!pkeys) {
                steps.add(new Protect(thread, slot, offset(random, pages[slot]), length(random, pages[slot]),
                        prot(random, true)));
            } else if (roll < 80) {
                steps.add(new PkeyProtect(thread, slot, offset(random, pages[slot]), length(random, pages[slot]),
                        prot(random, true), key(random, true)));
            } else if (roll < 88) {
                int flags = random.nextInt(25) == 0 ? 1 : 0;
                int rights = random.nextInt(15) == 0 ? new int[] {4, -1, 7}[random.nextInt(3)] : random.nextInt(4);
                steps.add(new PkeyAlloc(thread, flags, rights, random.nextInt(8) == 0 ? 6 + random.nextInt(10) : 1));
            } else if (roll < 91) {
                steps.add(new PkeyFree(thread, key(random, false)));
            } else if (roll < 95) {
                steps.add(new PkeyGet(thread, key(random, true)));
            } else {
                int key = key(random, false);
                int rights = random.nextInt(15) == 0 ? new int[] {4, -1}[random.nextInt(2)] : random.nextInt(4);
                steps.add(new PkeySet(thread, key, rights));
            }
        }
        return steps;
    }

    private static int prot(Random random, boolean forMprotect) {
        int[] plain = {Prot.NONE, Prot.READ, Prot.WRITE, Prot.READ_WRITE, Prot.EXEC, Prot.EXEC, Prot.READ | Prot.EXEC,
            Prot.WRITE | Prot.EXEC, Prot.READ_WRITE | Prot.EXEC, Prot.READ_WRITE, Prot.READ};
        int prot = plain[random.nextInt(plain.length)];
        int extra = random.nextInt(100);
        if (extra < 6) {
            prot |= Prot.SEM;
        } else if (extra < (forMprotect ? 14 : 9)) {
            prot |= Prot.GROWSDOWN;
        } else if (extra < (forMprotect ? 17 : 10)) {
            prot |= Prot.GROWSUP;
        } else if (extra < 19) {
            prot |= Prot.GROWSDOWN | Prot.GROWSUP;
        } else if (extra < 21) {
            prot |= 0x10;
        }
        return prot;
    }

    private static int mapFlags(Random random) {
        int r = random.nextInt(40);
        int flags = ANON | (r == 0 ? MapFlags.SHARED_VALIDATE : r == 1 ? 0 : r < 16 ? MapFlags.SHARED
                : MapFlags.PRIVATE);
        int[] odd = {MapFlags.NORESERVE, MapFlags.POPULATE, MapFlags.GROWSDOWN, MapFlags.LOCKED, MapFlags.STACK,
            MapFlags.NONBLOCK, MapFlags.DENYWRITE};
        for (int flag : odd) {
            if (random.nextInt(14) == 0) {
                flags |= flag;
            }
        }
        return flags;
    }

    /** A key number: mostly the few the program's allocations return, sometimes invalid ones. */
    private static int key(Random random, boolean zeroAllowed) {
        int r = random.nextInt(20);
        if (r < 14) {
            return 2 + random.nextInt(4);
        }
        return switch (r) {
            case 14, 15 -> 1;
            case 16 -> zeroAllowed ? 0 : 15;
            case 17 -> 16;
            case 18 -> -1;
            default -> -2;
        };
    }

    private static long offset(Random random, int pages) {
        long offset = random.nextInt(pages + 1) * 4096L;
        if (random.nextInt(12) == 0) {
            offset += 1 + random.nextInt(4095);
        }
        return offset;
    }

    private static long length(Random random, int pages) {
        int r = random.nextInt(40);
        if (r < 2) {
            return 0;
        }
        if (r == 2) {
            return -1;
        }
        if (r == 3) {
            return -4096;
        }
        long length = (1 + random.nextInt(pages + 1)) * 4096L;
        if (r < 8) {
            length -= 1 + random.nextInt(4095);
        }
        return length;
    }

    /** A step acting on a range of a slot. */
    interface Ranged {
        int slot();

        long offset();

        long length();
    }

    /** mmap(NULL, length, prot, flags, -1, 0) into a slot; a slot that holds a mapping has it unmapped first. */
    public record Map(int thread, int slot, long length, int prot, int flags) implements Step<MemoryWorld> {
        @Override
        public String apply(MemoryWorld w) throws Exception {
            return w.on(thread, () -> {
                if (w.slots[slot] != null) {
                    w.release(w.slots[slot]);
                    w.slots[slot] = null;
                }
                MemorySegment m = w.kernel.mmap(MemorySegment.NULL, length, prot, flags, -1, 0);
                w.slots[slot] = new Slot(m.address(), (length + w.page - 1) & -w.page);
                return "ok";
            });
        }
    }

    /** munmap of a range of a slot. */
    public record Unmap(int thread, int slot, long offset, long length) implements Step<MemoryWorld>, Ranged {
        @Override
        public String apply(MemoryWorld w) throws Exception {
            return w.onRange(thread, slot, offset, length, (range, n) -> {
                w.kernel.munmap(range, n);
                w.unmapped(slot, range.address(), n);
                return "ok";
            });
        }
    }

    /** mprotect of a range of a slot. */
    public record Protect(int thread, int slot, long offset, long length, int prot) implements Step<MemoryWorld>,
            Ranged {
        @Override
        public String apply(MemoryWorld w) throws Exception {
            return w.onRange(thread, slot, offset, length, (range, n) -> {
                w.kernel.mprotect(range, n, prot);
                return "ok";
            });
        }
    }

    /** pkey_mprotect of a range of a slot. */
    public record PkeyProtect(int thread, int slot, long offset, long length, int prot, int key)
            implements Step<MemoryWorld>, Ranged {
        @Override
        public String apply(MemoryWorld w) throws Exception {
            return w.onRange(thread, slot, offset, length, (range, n) -> {
                w.kernel.pkeyMprotect(range, n, prot, key);
                return "ok";
            });
        }
    }

    /** madvise of a range of a slot. */
    public record Advise(int thread, int slot, long offset, long length, int advice) implements Step<MemoryWorld>,
            Ranged {
        @Override
        public String apply(MemoryWorld w) throws Exception {
            return w.onRange(thread, slot, offset, length, (range, n) -> {
                w.kernel.madvise(range, n, advice);
                return "ok";
            });
        }
    }

    /** pread of the data file's pattern into a range of a slot: copy_to_user, as the calling thread. */
    public record CopyIn(int thread, int slot, long offset, long length) implements Step<MemoryWorld>, Ranged {
        @Override
        public String apply(MemoryWorld w) throws Exception {
            return w.onRange(thread, slot, offset, length,
                    (range, n) -> w.kernel.pread(w.fd, range, 0) + " bytes");
        }
    }

    /** pwrite of a range of a slot to the data file (copy_from_user, as the calling thread), and what it wrote. */
    public record CopyOut(int thread, int slot, long offset, long length) implements Step<MemoryWorld>, Ranged {
        @Override
        public String apply(MemoryWorld w) throws Exception {
            return w.onRange(thread, slot, offset, length,
                    (range, n) -> w.written(w.kernel.pwrite(w.fd, range, MemoryWorld.OUT)));
        }
    }

    /** A new worker thread, started by worker {@code thread}: it inherits that thread's PKRU. */
    public record StartThread(int thread) implements Step<MemoryWorld> {
        @Override
        public String apply(MemoryWorld w) throws Exception {
            return w.on(thread, () -> {
                if (w.workers.size() >= MemoryWorld.MAX_THREADS) {
                    return "no room";
                }
                w.workers.add(new MemoryWorld.Worker());
                return "ok";
            });
        }
    }

    /**
     * pkey_alloc, {@code count} times: the key numbers (the same on both kernels: the lowest free one each time), or
     * the first call's error (the keys before it stay allocated).
     */
    public record PkeyAlloc(int thread, int flags, int rights, int count) implements Step<MemoryWorld> {
        @Override
        public String apply(MemoryWorld w) throws Exception {
            return w.on(thread, () -> {
                StringBuilder keys = new StringBuilder("keys");
                for (int i = 0; i < count; i++) {
                    int key = w.kernel.pkeyAlloc(flags, rights);
                    w.keys.add(key);
                    keys.append(' ').append(key);
                }
                return keys.toString();
            });
        }
    }

    /** pkey_free (never of key 0, see the class comment). */
    public record PkeyFree(int thread, int key) implements Step<MemoryWorld> {
        @Override
        public String apply(MemoryWorld w) throws Exception {
            if (key == 0) {
                return "not key 0";
            }
            return w.on(thread, () -> {
                w.kernel.pkeyFree(key);
                w.keys.remove(key);
                return "ok";
            });
        }
    }

    /** pkey_get: the calling thread's rights for the key. */
    public record PkeyGet(int thread, int key) implements Step<MemoryWorld> {
        @Override
        public String apply(MemoryWorld w) throws Exception {
            return w.on(thread, () -> "rights " + w.kernel.pkeyGet(key));
        }
    }

    /** pkey_set (key 0 only to 0, see the class comment). */
    public record PkeySet(int thread, int key, int rights) implements Step<MemoryWorld> {
        @Override
        public String apply(MemoryWorld w) throws Exception {
            if (key == 0 && rights != 0) {
                return "not key 0";
            }
            return w.on(thread, () -> {
                w.kernel.pkeySet(key, rights);
                return "ok";
            });
        }
    }
}
