package dev.kdirect.backend.simulated;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kdirect.Credentials;
import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import dev.kdirect.MapFlags;
import dev.kdirect.OpenFlags;
import dev.kdirect.Prot;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the simulated kernel does where a contract test cannot run the real kernel: a touch of a page past the end
 * of a file (a SIGBUS, which the JDK turns into an InternalError), and the placements it does not model.
 */
class SimulatedMappingLimitsTest {
    private static final int MAP_32BIT = 0x40;
    private static final int MAP_HUGETLB = 0x40000;

    @TempDir
    Path dir;

    final Kernel kernel = Kernels.newSimulated(Credentials.ofCurrentProcess(), List.of());

    @Test
    void aTouchOfAPagePastTheEndOfTheFileIsTheSigbusTheRealKernelRaises() throws Exception {
        // filemap_fault: VM_FAULT_SIGBUS past i_size; JDK 25 turns a SIGBUS in a MemorySegment access into an
        // InternalError (kernel-facts), so the model's mapping must raise the same, not read zeros
        long page = kernel.pageSize();
        int fd = kernel.open(Files.write(dir.resolve("touch"), new byte[] {1}).toString(),
                OpenFlags.RDWR | OpenFlags.CLOEXEC, 0);
        try {
            MemorySegment m = kernel.mmap(MemorySegment.NULL, 2 * page, Prot.READ_WRITE, MapFlags.SHARED, fd, 0);
            assertThat(m.get(JAVA_BYTE, 0)).isEqualTo((byte) 1);
            assertThat(m.get(JAVA_BYTE, page - 1)).isZero();
            assertThatThrownBy(() -> m.get(JAVA_BYTE, page)).isInstanceOf(InternalError.class);
            assertThat(Files.size(dir.resolve("touch"))).isEqualTo(1);
            kernel.munmap(m, 2 * page);
        } finally {
            kernel.close(fd);
        }
    }

    @Test
    void aReadOnlyDescriptorsPrivateCopyCannotHoldPagesPastTheEnd() throws Exception {
        int fd = kernel.open(Files.write(dir.resolve("ro"), new byte[] {1}).toString(), OpenFlags.RDONLY, 0);
        try {
            assertThatThrownBy(() -> kernel.mmap(MemorySegment.NULL, 2 * kernel.pageSize(), Prot.READ_WRITE,
                    MapFlags.PRIVATE, fd, 0)).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("past the end");
        } finally {
            kernel.close(fd);
        }
    }

    @Test
    void placementsAndHugePagesTheModelCannotDecideAreRefused() {
        assertThatThrownBy(() -> kernel.mmap(MemorySegment.NULL, kernel.pageSize(), Prot.READ,
                MapFlags.PRIVATE | MapFlags.ANONYMOUS | MAP_32BIT, -1, 0))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("MAP_32BIT");
        assertThatThrownBy(() -> kernel.mmap(MemorySegment.NULL, kernel.pageSize(), Prot.READ,
                MapFlags.PRIVATE | MapFlags.ANONYMOUS | MAP_HUGETLB, -1, 0))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("MAP_HUGETLB");
    }
}
