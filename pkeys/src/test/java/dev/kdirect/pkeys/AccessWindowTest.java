package dev.kdirect.pkeys;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kdirect.Binding;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.MapFlags;
import dev.kdirect.Prot;
import dev.kdirect.contract.ContractKernels;
import dev.kdirect.testing.RequiresRealKernel;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Protected regions and access windows on every binding. On the real kernel an access these rules got wrong
 * would kill the test JVM with SIGSEGV, so every test passing there is itself evidence.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Binding.class)
@RequiresRealKernel
class AccessWindowTest {
    @Parameter
    Binding binding;

    Kernel kernel;
    ProtectionKey key;
    ProtectedRegion region;

    @BeforeEach
    void setUp() throws KernelException {
        kernel = ContractKernels.kernel(binding, Feature.PKEYS);
        key = ProtectionKey.allocate(kernel);
        region = ProtectedRegion.allocate(key, 3 * kernel.pageSize() - 100);
    }

    @AfterEach
    void tearDown() throws KernelException {
        if (key != null) {
            region.close();
            key.close();
        }
    }

    @Test
    void aNewRegionIsWholePagesWithNoAccessForTheAllocatingThread() {
        assertThat(region.byteSize()).isEqualTo(3 * kernel.pageSize());
        assertThat(region.address() % kernel.pageSize()).isZero();
        assertThat(key.access()).isEqualTo(Access.NONE);
    }

    @Test
    void aWindowGrantsItsAccessAndCloseRestoresThePreviousRights() throws KernelException {
        try (AccessWindow window = region.open(Access.READ_WRITE)) {
            assertThat(key.access()).isEqualTo(Access.READ_WRITE);
            window.segment().set(JAVA_LONG, 8, 42L);
            assertThat(region.getLong(8)).isEqualTo(42L);
        }
        assertThat(key.access()).isEqualTo(Access.NONE);
    }

    @Test
    void windowsNestAndUnwindInOrder() throws KernelException {
        try (AccessWindow outer = region.open(Access.READ)) {
            try (AccessWindow inner = region.open(Access.READ_WRITE)) {
                inner.segment().set(JAVA_LONG, 0, 7L);
                assertThat(key.access()).isEqualTo(Access.READ_WRITE);
            }
            assertThat(key.access()).isEqualTo(Access.READ);
            assertThat(outer.segment().get(JAVA_LONG, 0)).isEqualTo(7L);
        }
        assertThat(key.access()).isEqualTo(Access.NONE);
    }

    @Test
    void theWindowsViewIsDeadAfterClose() throws KernelException {
        MemorySegment view;
        try (AccessWindow window = region.open(Access.READ_WRITE)) {
            view = window.segment();
            view.set(JAVA_LONG, 0, 1L);
        }
        assertThatThrownBy(() -> view.get(JAVA_LONG, 0)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aReadWindowsViewIsReadOnly() throws KernelException {
        try (AccessWindow window = region.open(Access.READ)) {
            assertThat(window.segment().isReadOnly()).isTrue();
            assertThatThrownBy(() -> window.segment().set(JAVA_LONG, 0, 1L))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void aWindowBelongsToTheThreadThatOpenedIt() throws Exception {
        try (AccessWindow window = region.open(Access.READ_WRITE)) {
            assertThat(OnThread.failureOf(Thread.ofPlatform(), window::close).get()).isInstanceOf(IllegalStateException.class).hasMessageContaining("per thread");
        }
    }

    @Test
    void aVirtualThreadIsRefused() throws Exception {
        assertThat(OnThread.failureOf(Thread.ofVirtual(), () -> region.open(Access.READ).close()).get()).isInstanceOf(IllegalStateException.class).hasMessageContaining("platform thread");
    }

    @Test
    void aThreadStartedBeforeTheKeyExistedCanOpenAWindow() throws Exception {
        CountDownLatch ready = new CountDownLatch(1);
        CompletableFuture<ProtectedRegion> regionForOther = new CompletableFuture<>();
        CompletableFuture<Long> read = new CompletableFuture<>();
        Thread.ofPlatform().start(() -> {
            try {
                ready.countDown();
                ProtectedRegion other = regionForOther.get();
                try (AccessWindow window = other.open(Access.READ)) {
                    read.complete(window.segment().get(JAVA_LONG, 16));
                }
                read.complete(-1L);
            } catch (Throwable t) {
                read.completeExceptionally(t);
            }
        });
        ready.await();
        try (ProtectionKey laterKey = ProtectionKey.allocate(kernel);
                ProtectedRegion later = ProtectedRegion.allocate(laterKey, kernel.pageSize())) {
            try (AccessWindow window = later.open(Access.READ_WRITE)) {
                window.segment().set(JAVA_LONG, 16, 0x5ec7e7L);
            }
            regionForOther.complete(later);
            assertThat(read.get()).isEqualTo(0x5ec7e7L);
        }
    }

    @Test
    void aKeyIsNotFreedWhileARegionUsesIt() throws KernelException {
        assertThatThrownBy(key::close).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("still protects 1 region");
        assertThat(key.isAllocated()).isTrue();
        region.close();
        assertThatThrownBy(() -> region.open(Access.READ)).isInstanceOf(IllegalStateException.class);
        key.close();
        assertThat(key.isAllocated()).isFalse();
        assertThatThrownBy(() -> ProtectedRegion.allocate(key, 1)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("freed");
        key = null; // closed here
    }

    @Test
    void callerMemoryCanBeProtectedAndIsRetaggedOnClose() throws KernelException {
        long page = kernel.pageSize();
        // Mapped through the kernel, so the simulated kernel knows the mapping too (Arena memory it cannot see).
        MemorySegment pages = kernel.mmap(MemorySegment.NULL, 2 * page, Prot.READ_WRITE,
                MapFlags.PRIVATE | MapFlags.ANONYMOUS, -1, 0);
        try {
            assertThatThrownBy(() -> ProtectedRegion.protect(key, pages.asSlice(8, page)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("page");
            try (ProtectedRegion wrapped = ProtectedRegion.protect(key, pages)) {
                try (AccessWindow window = wrapped.open(Access.READ_WRITE)) {
                    window.segment().set(JAVA_LONG, page, 99L);
                }
            }
            assertThat(pages.get(JAVA_LONG, page)).isEqualTo(99L); // key 0 again: plain access works
        } finally {
            kernel.munmap(pages, 2 * page);
        }
    }
}
