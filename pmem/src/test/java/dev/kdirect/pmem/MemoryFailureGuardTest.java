package dev.kdirect.pmem;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.kdirect.Binding;
import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import dev.kdirect.MapFlags;
import dev.kdirect.OpenFlags;
import dev.kdirect.Prot;
import dev.kdirect.testing.RequiresRealKernel;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The guard on a real SIGBUS that is not a memory failure, which any Linux can produce (the host too): a shared
 * mapping of a file truncated under it faults with SIGBUS (BUS_ADRERR), the JDK raises InternalError as for a
 * poisoned page, no page is poisoned, and the guard must rethrow the error rather than blame a page.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(value = Binding.class, names = {"FFM", "JNA"})
@RequiresRealKernel
class MemoryFailureGuardTest {
    @Parameter
    Binding binding;

    @TempDir
    Path dir;

    @Test
    void aFaultThatIsNotAMemoryFailureIsRethrownAsItWas() throws Exception {
        Kernel kernel = Kernels.of(binding);
        long page = kernel.pageSize();
        Path file = Files.createTempFile(dir, "truncated", ".bin");
        Files.write(file, new byte[(int) (2 * page)]);
        int fd = kernel.open(file.toString(), OpenFlags.RDWR | OpenFlags.CLOEXEC, 0);
        MemorySegment m = kernel.mmap(MemorySegment.NULL, 2 * page, Prot.READ_WRITE, MapFlags.SHARED, fd, 0);
        try {
            m.set(JAVA_LONG, page, 42L);
            kernel.ftruncate(fd, 0);
            MemoryFailure failures = MemoryFailure.on(kernel);
            Throwable t = catchThrowable(() -> failures.guard(m, () -> m.get(JAVA_LONG, page)));
            assertThat(t).isInstanceOf(InternalError.class).hasMessageContaining("unsafe memory access");
            assertThat(failures.poisonedPages(m)).isEmpty();
            assertThat(failures.poisonedPages(m, false)).as("the probe meets EFAULT, not EHWPOISON").isEmpty();
        } finally {
            kernel.munmap(m, 2 * page);
            kernel.close(fd);
        }
    }

    @Test
    void kernelsThatSignalInsideMadviseAreRecognised() {
        assertThat(MemoryFailure.signalsInsideMadvise("6.1.0-50-amd64")).isFalse();
        assertThat(MemoryFailure.signalsInsideMadvise("5.10.0-33-amd64")).isFalse();
        assertThat(MemoryFailure.signalsInsideMadvise("6.10.14")).isFalse();
        assertThat(MemoryFailure.signalsInsideMadvise("6.11.0")).isTrue();
        assertThat(MemoryFailure.signalsInsideMadvise("6.18.44-fc-v1045")).isTrue();
        assertThat(MemoryFailure.signalsInsideMadvise("7.0.1")).isTrue();
        assertThat(MemoryFailure.signalsInsideMadvise("weird")).isFalse();
    }
}
