package dev.kdirect.pmem;

import static dev.kdirect.contract.ContractKernels.assertErrno;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kdirect.Binding;
import dev.kdirect.Credentials;
import dev.kdirect.Errno;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import dev.kdirect.contract.ContractKernels;
import dev.kdirect.testing.RequiresRealKernel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Mapping files as persistent memory on every binding: on a DAX file system (the guest's /mnt/pmem, or a
 * directory the simulated kernel treats as DAX) MAP_SYNC works and stores persist by cache line; elsewhere strict
 * mode fails with EOPNOTSUPP and the fallback is msync by page. Bad input fails the same way everywhere. On the
 * simulated kernel the crash model must hold what was persisted; real write-backs are observed in
 * {@link MsyncWriteBackTest} (msync).
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Binding.class)
@RequiresRealKernel
class PmemRegionContractTest {
    @Parameter
    Binding binding;

    @TempDir
    Path notDax;

    @TempDir
    Path simulatedDax;

    Kernel kernel;
    Path dax;
    long page;

    @BeforeEach
    void setUp() throws Exception {
        if (binding.isReal()) {
            kernel = ContractKernels.kernel(binding, Feature.DAX_PMEM);
            dax = Files.createTempDirectory(Path.of(System.getenv().getOrDefault("KDIRECT_PMEM_DIR", "/mnt/pmem")),
                    "contract");
        } else {
            kernel = Kernels.newSimulated(Credentials.ofCurrentProcess(), List.of(simulatedDax));
            dax = simulatedDax;
        }
        page = kernel.pageSize();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (binding.isReal() && dax != null) {
            try (var files = Files.list(dax)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dax);
        }
    }

    @Test
    void aDaxFileMapsWithMapSyncAndPersistsByCacheLine() throws Exception {
        Path file = dax.resolve("region");
        try (PmemRegion region = PmemRegion.map(kernel, file, 4 * page, true)) {
            assertThat(region.granularity()).isIn(Granularity.CACHE_LINE, Granularity.BYTE);
            assertThat(region.granularityReason()).contains("MAP_SYNC");
            region.putLong(128, 0x0123456789abcdefL);
            region.putLongAtomic(page, 42L);
            region.copyAndPersist(new byte[] {1, 2, 3}, 3 * page + 61); // across a cache-line boundary
            region.persist(128, 8);
            region.persist(page, 8);
            if (!binding.isReal()) { // the model: written back and fenced, so no crash can lose them
                assertThat(List.of(128L, page, 3 * page + 56)).as("words that survive every crash")
                        .allMatch(offset -> PersistenceModelTest.survivesEveryCrash(region, offset));
            }
        }
        ByteBuffer content = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.nativeOrder());
        assertThat(content.capacity()).isEqualTo(4 * page);
        assertThat(content.getLong(128)).isEqualTo(0x0123456789abcdefL);
        assertThat(content.getLong((int) page)).isEqualTo(42L);
        assertThat(content.get((int) (3 * page + 63))).isEqualTo((byte) 3);
    }

    @Test
    void aFileThatIsNotDaxIsRefusedStrictlyAndFallsBackToMsync() throws Exception {
        Path file = notDax.resolve("region");
        assertThat(assertErrno(Errno.EOPNOTSUPP, () -> PmemRegion.map(kernel, file, page, true)).hint())
                .contains("mount").contains("dax");
        try (PmemRegion region = PmemRegion.map(kernel, file, 2 * page, false)) {
            assertThat(region.granularity()).isEqualTo(Granularity.PAGE);
            assertThat(region.granularityReason()).contains("EOPNOTSUPP");
            region.putLong(page + 8, 77L);
            region.persist(page + 8, 8);
            if (!binding.isReal()) { // the model: msync wrote the page back, so no crash can lose it
                assertThat(PersistenceModelTest.survivesEveryCrash(region, page + 8)).as("survives every crash").isTrue();
            }
        }
        assertThat(ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.nativeOrder()).getLong((int) page + 8))
                .isEqualTo(77L);
    }

    @Test
    void badSizesOffsetsAndRangesAreRefused() throws Exception {
        Path file = dax.resolve("region");
        assertThatThrownBy(() -> PmemRegion.map(kernel, file, 0, true)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> PmemRegion.map(kernel, file, page + 1, true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("multiple of " + page);
        try (PmemRegion region = PmemRegion.map(kernel, file, page, true)) {
            assertThatThrownBy(() -> region.putLongAtomic(12, 1L)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> region.flush(page - 8, 16)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> region.flush(-1, 1)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> region.putLong(page - 4, 1L)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> region.readOnlyView().set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte) 1))
                    .isInstanceOf(IllegalArgumentException.class);
        }
        assertErrno(Errno.ENOENT, () -> PmemRegion.map(kernel, dax.resolve("no/such/dir/file"), page, true));
    }

    @Test
    void msyncChecksFlagsAlignmentAndHoles() throws Exception {
        Path file = notDax.resolve("paged");
        try (PmemRegion region = PmemRegion.map(kernel, file, 2 * page, false)) {
            var view = region.readOnlyView();
            assertErrno(Errno.EINVAL, () -> kernel.msync(view.asSlice(1), 8, dev.kdirect.Kernel.MS_SYNC));
            assertErrno(Errno.EINVAL, () -> kernel.msync(view, page, 1 | dev.kdirect.Kernel.MS_SYNC));
            assertErrno(Errno.EINVAL, () -> kernel.msync(view, page, 0x10));
            kernel.msync(view, 0, dev.kdirect.Kernel.MS_SYNC);
            kernel.munmap(view.asSlice(page), page);
            assertErrno(Errno.ENOMEM, () -> kernel.msync(view, 2 * page, dev.kdirect.Kernel.MS_SYNC));
        }
    }
}
