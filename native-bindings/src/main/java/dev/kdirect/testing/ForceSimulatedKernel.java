package dev.kdirect.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Runs the annotated test class on the simulated kernel: {@code Kernels.forFeature} and {@code Kernels.system}
 * return the JVM-wide simulated kernel from before the first test until after the last.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(SimulatedKernelExtension.class)
public @interface ForceSimulatedKernel {
}
