package dev.kdirect.contract;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kdirect.Binding;
import dev.kdirect.FallocateFlags;
import dev.kdirect.Kernel;
import dev.kdirect.OpenFlags;
import dev.kdirect.testing.RequiresRealKernel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * fallocate's range modes (ZERO_RANGE, INSERT_RANGE, COLLAPSE_RANGE) on the file system the contract suites write to
 * (ext4 on the host, tmpfs in the guest): each scenario runs on the real kernel and on a simulated process in the
 * same run, and the outcomes, the file's size and its bytes must agree (fs/open.c vfs_fallocate, then
 * fs/ext4/extents.c ext4_fallocate or mm/shmem.c shmem_fallocate).
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Binding.class)
@RequiresRealKernel
class FallocateContractTest extends RealVersusModel {
    private static final int PAGE = 4096;

    @FunctionalInterface
    private interface Scenario {
        void run(Kernel k, Outcomes o, int fd) throws Exception;
    }

    /**
     * Runs the scenario on both kernels, each on its own file of three pages and ten bytes, every page its own
     * byte; the outcomes, then the file's size and bytes, must agree. Returns the real outcomes.
     */
    private Map<String, String> agree(Scenario scenario) throws Exception {
        return ContractKernels.assertSimulatedAgrees(real, simulated, k -> {
            byte[] data = new byte[3 * PAGE + 10];
            for (int i = 0; i < data.length; i++) {
                data[i] = (byte) (1 + i / PAGE);
            }
            Path file = Files.write(dir.resolve(k.binding().name()), data);
            Outcomes o = new Outcomes();
            int fd = k.open(file.toString(), OpenFlags.RDWR | OpenFlags.CLOEXEC, 0);
            try {
                scenario.run(k, o, fd);
            } finally {
                k.close(fd);
            }
            byte[] after = Files.readAllBytes(file);
            Files.delete(file);
            return o.put("size", after.length).put("bytes", Arrays.hashCode(after)).asMap();
        });
    }

    @Test
    void zeroRangeZeroesAnyByteRangeAndGrowsTheFileUnlessKeepSize() throws Exception {
        // ext4_zero_range: no alignment asked; past the end it grows the file, with KEEP_SIZE it does not.
        // shmem_fallocate takes KEEP_SIZE and PUNCH_HOLE only: EOPNOTSUPP
        Map<String, String> a = agree((k, o, fd) -> {
            o.step("unaligned", () -> k.fallocate(fd, FallocateFlags.ZERO_RANGE, 100, 10));
            o.step("acrossTheEnd", () -> k.fallocate(fd, FallocateFlags.ZERO_RANGE, 3 * PAGE + 5, 20));
            o.step("keepSizePastTheEnd", () -> k.fallocate(fd, FallocateFlags.ZERO_RANGE | FallocateFlags.KEEP_SIZE,
                    5 * PAGE, 10));
            o.step("withPunchHole", () -> k.fallocate(fd, FallocateFlags.ZERO_RANGE | FallocateFlags.PUNCH_HOLE
                    | FallocateFlags.KEEP_SIZE, 0, 10));
        });
        assertThat(a).containsEntry("withPunchHole", "EOPNOTSUPP");
        assertThat(a.get("unaligned")).isIn("ok", "EOPNOTSUPP");
    }

    @Test
    void insertRangeTakesWholeBlocksInsideTheFileAndShiftsTheRestUp() throws Exception {
        // ext4_insert_range: offset and length whole clusters (EINVAL), the offset inside the file (EINVAL); the
        // bytes from the offset move up by the length over a hole that reads as zeros
        Map<String, String> a = agree((k, o, fd) -> {
            o.step("unaligned", () -> k.fallocate(fd, FallocateFlags.INSERT_RANGE, 100, PAGE));
            o.step("unalignedLength", () -> k.fallocate(fd, FallocateFlags.INSERT_RANGE, PAGE, 100));
            o.step("atTheEnd", () -> k.fallocate(fd, FallocateFlags.INSERT_RANGE, 4 * PAGE, PAGE));
            o.step("insideTheLastBlock", () -> k.fallocate(fd, FallocateFlags.INSERT_RANGE, 3 * PAGE, PAGE));
            o.step("second", () -> k.fallocate(fd, FallocateFlags.INSERT_RANGE, PAGE, 2 * PAGE));
        });
        assertThat(a.get("unaligned")).isIn("EINVAL", "EOPNOTSUPP");
        assertThat(a.get("atTheEnd")).isIn("EINVAL", "EOPNOTSUPP");
    }

    @Test
    void collapseRangeTakesWholeBlocksEndingBeforeTheEndAndShiftsTheRestDown() throws Exception {
        // ext4_collapse_range: whole clusters (EINVAL), and a range that reaches the end would be a truncation (EINVAL)
        Map<String, String> a = agree((k, o, fd) -> {
            o.step("unaligned", () -> k.fallocate(fd, FallocateFlags.COLLAPSE_RANGE, PAGE, 100));
            o.step("toTheEnd", () -> k.fallocate(fd, FallocateFlags.COLLAPSE_RANGE, 2 * PAGE, 2 * PAGE));
            o.step("first", () -> k.fallocate(fd, FallocateFlags.COLLAPSE_RANGE, 0, PAGE));
            o.step("middle", () -> k.fallocate(fd, FallocateFlags.COLLAPSE_RANGE, PAGE, PAGE));
            o.step("nothingLeftBehind", () -> k.fallocate(fd, FallocateFlags.COLLAPSE_RANGE, 0, PAGE));
        });
        assertThat(a.get("unaligned")).isIn("EINVAL", "EOPNOTSUPP");
        assertThat(a.get("toTheEnd")).isIn("EINVAL", "EOPNOTSUPP");
    }

    @Test
    void unshareAndModesCombinedAsBothKernelsRefuseThem() throws Exception {
        // vfs_fallocate: zero range and punch hole together, or a hole without KEEP_SIZE, are EOPNOTSUPP on 6.1 and
        // 6.18; ext4 and shmem take no UNSHARE_RANGE
        Map<String, String> a = agree((k, o, fd) -> {
            o.step("unshare", () -> k.fallocate(fd, FallocateFlags.UNSHARE_RANGE, 0, PAGE));
            o.step("unshareKeepSize", () -> k.fallocate(fd, FallocateFlags.UNSHARE_RANGE | FallocateFlags.KEEP_SIZE,
                    0, PAGE));
            o.step("holeWithoutKeepSize", () -> k.fallocate(fd, FallocateFlags.PUNCH_HOLE, 0, PAGE));
        });
        assertThat(a).containsEntry("unshare", "EOPNOTSUPP").containsEntry("unshareKeepSize", "EOPNOTSUPP")
                .containsEntry("holeWithoutKeepSize", "EOPNOTSUPP");
    }

    @Test
    void theSimulatedKernelRefusesModesWhoseErrnoChangedBetween61And618() throws Exception {
        // 6.1's vfs_fallocate: INSERT_RANGE or COLLAPSE_RANGE with another flag is EINVAL; 6.18's mode switch
        // answers EOPNOTSUPP; WRITE_ZEROES is unknown to 6.1 and the block device's to 6.18
        Path file = Files.write(dir.resolve("versions"), new byte[PAGE]);
        int fd = simulated.open(file.toString(), OpenFlags.RDWR | OpenFlags.CLOEXEC, 0);
        try {
            for (int mode : new int[] {FallocateFlags.INSERT_RANGE | FallocateFlags.KEEP_SIZE,
                FallocateFlags.COLLAPSE_RANGE | FallocateFlags.INSERT_RANGE, FallocateFlags.WRITE_ZEROES,
                FallocateFlags.UNSHARE_RANGE | FallocateFlags.ZERO_RANGE}) {
                assertThatThrownBy(() -> simulated.fallocate(fd, mode, 0, PAGE)).as("mode 0x%x", mode)
                        .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("6.1");
            }
        } finally {
            simulated.close(fd);
        }
    }
}
