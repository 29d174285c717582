package dev.kdirect.fuzz;

import dev.kdirect.Credentials;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * A generator of random programs for one feature, and the world they run in. {@link Differential} runs each
 * program on the real kernel and on the simulated one, each in a world of its own, and compares them call by call.
 *
 * @param <W> the state one program acts on: the kernel, and the handles its steps name
 */
public interface Fuzzer<W extends AutoCloseable> {
    /** The feature's name in reports and the fidelity table, e.g. {@code "memory"}. */
    String name();

    /** The feature whose real kernel the programs need; where it is missing the fuzzer does not run. */
    Feature feature();

    /** A random program. Only {@code random} decides it, so a seed reproduces it. */
    List<Step<W>> program(Random random);

    /**
     * A fresh world on {@code kernel} for one program, with files (if any) under {@code dir}. Its {@code close}
     * undoes what the program left (mappings, keys, descriptors) so the next program starts from the same state on
     * both kernels.
     */
    W open(Kernel kernel, Path dir) throws Exception;

    /** The simulated kernel one program runs on: by default a fresh process with this one's credentials. */
    default Kernel model() {
        return Kernels.newSimulated(Credentials.ofCurrentProcess(), List.of());
    }

    /**
     * Why the real world cannot run {@code step} safely now (for example another thread of this JVM mapped memory
     * into a hole the program made, which the step would change), or null. A step that cannot run ends its program,
     * counted as interfered with, not compared.
     */
    default String interference(W realWorld, Step<W> step) throws Exception {
        return null;
    }

    /**
     * Why the real outcome of {@code step}, which differs from the model's, may have come from outside the program
     * (for example another thread of this JVM mapped memory into a hole between {@link #interference}'s check and
     * the step), or null: asked only after a difference, so that such a race is counted as interfered with, never
     * as a disagreement. By default none.
     */
    default String interferenceDuring(W realWorld, Step<W> step) throws Exception {
        return null;
    }
}
