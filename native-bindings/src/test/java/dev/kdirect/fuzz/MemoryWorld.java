package dev.kdirect.fuzz;

import dev.kdirect.Binding;
import dev.kdirect.KernelException;
import dev.kdirect.Kernel;
import dev.kdirect.MapFlags;
import dev.kdirect.OpenFlags;
import dev.kdirect.Prot;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32;

/**
 * The world of one {@link MemoryFuzzer} program on one kernel: slots of anonymous memory (each remembers the whole
 * range its mmap returned, its reservation, and the pages the program unmapped since, its holes), worker threads the
 * steps run on, the protection keys the program holds, and a data file for the copies into and out of the slots.
 */
final class MemoryWorld implements AutoCloseable {
    static final int SLOTS = 4;
    static final int MAX_THREADS = 4;
    static final int INITIAL_THREADS = 2;
    /** The data file: its first pages hold a pattern that reads copy into slots; writes go to {@link #OUT}. */
    static final int FILE_PAGES = 10;
    static final long OUT = 1 << 20;

    final Kernel kernel;
    final long page;
    final Slot[] slots = new Slot[SLOTS];
    final List<Worker> workers = new ArrayList<>();
    private final int baseWorkers;
    private final boolean resetKeys;
    /** Keys the program's pkey_alloc returned and it did not free: the world's close frees them. */
    final Set<Integer> keys = new TreeSet<>();
    final Path file;
    final int fd;

    /** A slot's mapping: [base, base + bytes) as mmap returned it, and the pages the program unmapped since. */
    static final class Slot {
        final long base;
        final long bytes;
        final BitSet holes = new BitSet();

        Slot(long base, long bytes) {
            this.base = base;
            this.bytes = bytes;
        }
    }

    /**
     * @param file the data file, holding the pattern in its first {@link #FILE_PAGES} pages
     * @param base the first workers, kept across programs (thread creation is slow under emulation): threads with
     *        the init PKRU, as the real world's close leaves them when {@code resetKeys}
     */
    MemoryWorld(Kernel kernel, Path file, List<Worker> base, boolean resetKeys) throws Exception {
        this.kernel = kernel;
        this.page = kernel.pageSize();
        this.file = file;
        this.fd = kernel.open(file.toString(), OpenFlags.RDWR | OpenFlags.CLOEXEC, 0);
        workers.addAll(base);
        this.baseWorkers = base.size();
        this.resetKeys = resetKeys && !isModel();
    }

    boolean isModel() {
        return kernel.binding() == Binding.SIMULATED;
    }

    /** Runs {@code call} on worker {@code thread}, as if that thread made the call. */
    String on(int thread, Callable<String> call) throws Exception {
        if (thread >= workers.size()) {
            return "no thread";
        }
        return workers.get(thread).run(call);
    }

    /** A call on a range of a slot: the range's start, and its length as {@link #length} clips it. */
    interface RangeCall {
        String call(MemorySegment range, long length) throws Exception;
    }

    /**
     * Runs {@code call} on worker {@code thread} over {@code length} bytes from {@code offset} into slot {@code slot},
     * clipped to the slot's reservation; "no slot" where the slot holds nothing.
     */
    String onRange(int thread, int slot, long offset, long length, RangeCall call) throws Exception {
        return on(thread, () -> {
            Slot s = slots[slot];
            if (s == null) {
                return "no slot";
            }
            long n = length(s, offset, length);
            return call.call(at(address(s, offset), n), n);
        });
    }

    /** The address {@code offset} bytes into slot {@code slot}, clamped to its reservation. */
    long address(Slot s, long offset) {
        return s.base + Math.min(offset, s.bytes);
    }

    /**
     * A length from {@code offset} that stays within the reservation: a negative length is passed as it is (the
     * kernel rejects it before looking at any page: a rounded-up length of 0 or an end below the start).
     */
    long length(Slot s, long offset, long length) {
        return length < 0 ? length : Math.min(length, s.bytes - Math.min(offset, s.bytes));
    }

    static MemorySegment at(long address, long length) {
        return MemorySegment.ofAddress(address).reinterpret(Math.max(length, 0));
    }

    /** Remembers a successful munmap of [address, address + length) in slot {@code s}. */
    void unmapped(int slot, long address, long length) {
        Slot s = slots[slot];
        long end = address + ((length + page - 1) & -page);
        for (long p = address; p < end && p < s.base + s.bytes; p += page) {
            s.holes.set((int) ((p - s.base) / page));
        }
        if (s.holes.cardinality() == s.bytes / page) {
            // wholly unmapped: forgotten on both sides alike, as the model frees its memory then and may hand the
            // same addresses to a later mapping, which the program's steps on this slot would then reach
            slots[slot] = null;
        }
    }

    /** Unmaps what the program left mapped of a slot: the runs of pages that are not holes (never a hole itself). */
    void release(Slot s) throws KernelException {
        int pages = (int) (s.bytes / page);
        int from = s.holes.nextClearBit(0);
        while (from < pages) {
            int to = Math.min(pages, s.holes.nextSetBit(from) < 0 ? pages : s.holes.nextSetBit(from));
            kernel.munmap(at(s.base + from * page, (to - from) * page), (to - from) * page);
            from = s.holes.nextClearBit(to);
        }
    }

    /** A data file for worlds to share (one runs at a time): its first pages hold a pattern no program changes. */
    static Path dataFile() throws IOException {
        byte[] pattern = new byte[FILE_PAGES * 4096];
        for (int i = 0; i < pattern.length; i++) {
            pattern[i] = (byte) (i * 7 + i / 4096);
        }
        Path file = Files.createTempFile("kdirect-memory-fuzz-", ".data");
        file.toFile().deleteOnExit();
        return Files.write(file, pattern);
    }

    /** The CRC-32 of {@code count} bytes of the data file at {@link #OUT}, read from Java. */
    String written(long count) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer bytes = ByteBuffer.allocate((int) count);
            while (bytes.hasRemaining() && channel.read(bytes, OUT + bytes.position()) >= 0) {
                // read on
            }
            CRC32 crc = new CRC32();
            crc.update(bytes.flip());
            return count + " bytes crc " + Long.toHexString(crc.getValue());
        }
    }

    @Override
    public void close() throws Exception {
        try {
            for (Worker w : workers.subList(baseWorkers, workers.size())) {
                w.stop();
            }
            if (resetKeys) {
                // the init PKRU, 0x55555554 (access disabled for keys 1 to 15), which a fresh model's threads have
                for (Worker w : workers.subList(0, baseWorkers)) {
                    w.run(() -> {
                        for (int key = 1; key < 16; key++) {
                            kernel.pkeySet(key, 1);
                        }
                        return "ok";
                    });
                }
            }
            for (int i = 0; i < SLOTS; i++) {
                if (slots[i] != null) {
                    release(slots[i]);
                    slots[i] = null;
                }
            }
            for (int key : keys) {
                kernel.pkeyFree(key);
            }
        } finally {
            kernel.close(fd);
        }
    }

    /**
     * A platform thread that runs the world's calls one at a time. Constructed and started on the thread that
     * creates it, so it inherits that thread's PKRU (clone) and, in the model, its InheritableThreadLocal.
     */
    static final class Worker {
        private final LinkedBlockingQueue<FutureTask<String>> calls = new LinkedBlockingQueue<>();
        private final Thread thread;

        Worker() {
            thread = new Thread(this::loop, "memory-fuzz-worker");
            thread.setDaemon(true);
            thread.start();
        }

        private void loop() {
            try {
                while (true) {
                    FutureTask<String> call = calls.take();
                    call.run();
                }
            } catch (InterruptedException e) {
                // stopped
            }
        }

        String run(Callable<String> call) throws Exception {
            FutureTask<String> task = new FutureTask<>(call);
            calls.add(task);
            try {
                return task.get(120, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof Exception cause) {
                    throw cause;
                }
                throw (Error) e.getCause();
            }
        }

        void stop() throws InterruptedException {
            thread.interrupt();
            thread.join(10_000);
        }
    }

    /** mmap of one page PROT_EXEC only, then munmap: takes the execute-only key (arch/x86/mm/pkeys.c). */
    static void touchExecuteOnly(Kernel kernel) throws KernelException {
        MemorySegment m = kernel.mmap(MemorySegment.NULL, kernel.pageSize(), Prot.EXEC,
                MapFlags.PRIVATE | MapFlags.ANONYMOUS, -1, 0);
        kernel.munmap(m, kernel.pageSize());
    }
}
