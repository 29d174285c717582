package dev.kdirect.benchmarks;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The C baseline of the TCP repair benchmarks (benchmarks/native/soccr-baseline.c, built by benchmarks/run): the
 * same system calls as kdirect's checkpoint and restore, one FFM downcall per operation. Its path is
 * {@code -Dkdirect.soccr.baseline}, by default target/native/libsoccrbaseline.so under the working directory.
 */
final class SoccrBaseline {
    /** Room for the queues of the largest benchmark parameter (64 KiB) with margin. */
    static final int QUEUE_CAPACITY = 1 << 21;

    private static final SymbolLookup LIBRARY = SymbolLookup.libraryLookup(library(), Arena.global());
    private static final MethodHandle STATE_NEW = handle("kd_state_new", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    private static final MethodHandle CHECKPOINT = handle("kd_checkpoint",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle FREEZE = handle("kd_freeze", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle CYCLE = handle("kd_cycle", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle FIND_FD = handle("kd_find_fd",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));

    private SoccrBaseline() {
    }

    private static Path library() {
        Path path = Path.of(System.getProperty("kdirect.soccr.baseline", "target/native/libsoccrbaseline.so"));
        if (!Files.isRegularFile(path)) {
            throw new IllegalStateException(path.toAbsolutePath() + " is missing: benchmarks/run and"
                    + " benchmarks/run-in-guest build it from benchmarks/native/soccr-baseline.c with gcc");
        }
        return path;
    }

    private static MethodHandle handle(String name, FunctionDescriptor descriptor) {
        return Linker.nativeLinker().downcallHandle(LIBRARY.find(name).orElseThrow(), descriptor);
    }

    /** A C-side connection state with room for {@link #QUEUE_CAPACITY} bytes per queue (never freed: a trial's). */
    static MemorySegment newState() throws Throwable {
        return (MemorySegment) STATE_NEW.invokeExact(QUEUE_CAPACITY);
    }

    /** The descriptor of the socket with these ports in this process (setup only). */
    static int descriptor(int localPort, int remotePort) throws Throwable {
        return checked("kd_find_fd", (int) FIND_FD.invokeExact(localPort, remotePort));
    }

    static int checkpoint(int fd, MemorySegment state) throws Throwable {
        return checked("kd_checkpoint", (int) CHECKPOINT.invokeExact(fd, state));
    }

    /** Dumps in repair mode and leaves it there: closing its channel next sends nothing. */
    static void freeze(int fd, MemorySegment state) throws Throwable {
        checked("kd_freeze", (int) FREEZE.invokeExact(fd, state));
    }

    /** Restores {@code state} into a new socket and detaches it again into {@code scratch}. */
    static int cycle(MemorySegment state, MemorySegment scratch) throws Throwable {
        return checked("kd_cycle", (int) CYCLE.invokeExact(state, scratch));
    }

    private static int checked(String function, int result) {
        if (result < 0) {
            throw new IllegalStateException(function + " failed with errno " + -result);
        }
        return result;
    }
}
