package dev.kdirect.contract;

import dev.kdirect.Binding;
import dev.kdirect.Kernel;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;

/**
 * The base of a contract class run once per binding that holds the model to the real kernel in the same run:
 * {@link #real} ({@link ContractKernels#realSideOf}) and {@link #simulated} ({@link ContractKernels#simulatedSideOf}),
 * and a directory of its own for the files a test needs.
 */
abstract class RealVersusModel {
    @Parameter
    Binding binding;

    @TempDir
    Path dir;

    Kernel real;
    Kernel simulated;

    @BeforeEach
    void pickKernels() {
        real = ContractKernels.realSideOf(binding);
        simulated = ContractKernels.simulatedSideOf(binding);
    }
}
