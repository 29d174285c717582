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
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
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
    void theGuardCatchesTheFaultAlsoWhenC2HasInlinedTheAccess() throws Exception {
        // HotSpot raises the InternalError at the next safepoint poll; with the access inlined into a C2-compiled
        // guard that poll would be the guard's return, outside its try (see MemoryFailure.deliverPendingFault).
        // A kernel that counts calls shows whether the guard caught the fault: it looks for poisoned pages then.
        Kernel real = Kernels.of(binding);
        AtomicInteger calls = new AtomicInteger();
        Kernel counting = (Kernel) Proxy.newProxyInstance(Kernel.class.getClassLoader(), new Class<?>[] {Kernel.class},
                (proxy, method, args) -> {
                    if (!method.getName().equals("binding") && !method.getName().equals("pageSize")) {
                        calls.incrementAndGet();
                    }
                    try {
                        return method.invoke(real, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        long page = real.pageSize();
        Path file = Files.createTempFile(dir, "warm", ".bin");
        Files.write(file, new byte[(int) (2 * page)]);
        int fd = real.open(file.toString(), OpenFlags.RDWR | OpenFlags.CLOEXEC, 0);
        MemorySegment m = real.mmap(MemorySegment.NULL, 2 * page, Prot.READ_WRITE, MapFlags.SHARED, fd, 0);
        try {
            MemoryFailure failures = MemoryFailure.on(counting);
            long sum = 0;
            // 300,000 calls get C2 to compile it; with C1 only (the guest's -XX:TieredStopAtLevel=1) fewer will do
            int warmUp = System.getProperty("java.vm.info", "").contains("emulated-client") ? 20_000 : 300_000;
            for (int i = 0; i < warmUp; i++) {
                sum += read(failures, m, (i & 511) * 8L, page);
            }
            assertThat(sum).isZero();
            real.ftruncate(fd, 0);
            int before = calls.get();
            for (int i = 0; i < 100; i++) {
                long offset = (i & 511) * 8L;
                Throwable t = catchThrowable(() -> read(failures, m, offset, page));
                assertThat(t).isInstanceOf(InternalError.class);
                assertThat(calls.get()).as("fault %d was caught by the guard, which looked for poisoned pages", i)
                        .isGreaterThan(before);
                before = calls.get();
            }
        } finally {
            real.munmap(m, 2 * page);
            real.close(fd);
        }
    }

    /** One guarded read, in a method of its own, so that C2 compiles the guard with the access inlined. */
    private static long read(MemoryFailure failures, MemorySegment m, long offset, long page)
            throws PoisonedPageException {
        return failures.guard(m, () -> m.get(JAVA_LONG, offset) + m.get(JAVA_LONG, page + offset));
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
