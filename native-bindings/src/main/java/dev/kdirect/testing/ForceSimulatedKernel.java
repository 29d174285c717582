package dev.kdirect.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs the annotated test method, or every test of the annotated class, on a simulated kernel of its own: a fresh
 * one per test (its own memory map, descriptors, protection keys, connections and kexec slots), returned by
 * {@code Kernels.forFeature} and {@code Kernels.system} in the test's thread and in threads the test starts. Safe
 * under JUnit's parallel execution. A test (or {@code @BeforeEach}/{@code @AfterEach} method) can take the
 * kernel as a {@code dev.kdirect.Kernel} parameter, e.g. to damage it with {@link SimulatedMachine}; on a class,
 * {@code @BeforeAll} and {@code @AfterAll} code gets one more kernel for the class.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(SimulatedKernelExtension.class)
public @interface ForceSimulatedKernel {
}
