package dev.kdirect.kexec;

import static dev.kdirect.contract.TestImages.synthetic;
import static dev.kdirect.contract.TestImages.truncated;
import static dev.kdirect.contract.TestImages.withU16;
import static dev.kdirect.contract.TestImages.withU32;
import static dev.kdirect.contract.TestImages.withU8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Errno;
import dev.kdirect.contract.TestImages;
import dev.kdirect.rules.BzImageRules;
import dev.kdirect.rules.Refusal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The bzImage rules at the edges of each limit, where a check that is off by one or reads the wrong bit would
 * answer differently: the values are those of bzImage64_probe and bzImage64_load (arch/x86/kernel/kexec-bzimage64.c,
 * Linux 6.1), which the validator and the simulated kernel both apply through these rules.
 */
class BzImageRulesEdgesTest {
    private static final int XLF_5LEVEL = 0x20;

    @Test
    void probeTakesAnImageOfExactlyTwoSectorsAndRefusesOneByteLess() {
        // "if (kernel_len < 2 * 512)": 1024 bytes are enough for the probe.
        byte[] image = truncated(synthetic(), 1024);
        assertThat(probe(image, 1024, false)).isEmpty();
        assertThat(probe(image, 1023, false)).hasValueSatisfying(r -> assertThat(r.message())
                .isEqualTo("File is too short to be a bzImage"));
        assertThat(probe(truncated(image, 1023), 1024, false)).isPresent();
    }

    @Test
    void protocolTwoTwelveIsTheOldestAccepted() {
        // "if (le16_to_cpu(header->version) < 0x020C)"
        assertThat(probe(withU16(synthetic(), BzImageRules.VERSION, 0x020c), 1 << 16, false)).isEmpty();
        assertThat(probe(withU16(synthetic(), BzImageRules.VERSION, 0x020b), 1 << 16, false))
                .hasValueSatisfying(r -> assertThat(r.message()).isEqualTo("Must be at least protocol version 2.12"));
    }

    @Test
    void fiveLevelPagingNeedsXlf5LevelAndNothingElseDoes() {
        // "if (!(header->xloadflags & XLF_5LEVEL) && pgtable_l5_enabled())"
        byte[] without = withU16(synthetic(), BzImageRules.XLOADFLAGS, 0x7f & ~XLF_5LEVEL);
        assertThat(probe(without, 1 << 16, true)).hasValueSatisfying(r -> assertThat(r.message())
                .isEqualTo("bzImage cannot handle 5-level paging mode."));
        assertThat(probe(without, 1 << 16, false)).isEmpty();
        assertThat(probe(synthetic(), 1 << 16, true)).isEmpty();
    }

    @Test
    void loadTakesAFileOfExactlyItsSetupSectors() {
        // "kern16_size = (setup_sects + 1) * 512; if (kernel_len < kern16_size)": 4 setup sectors need 2560 bytes.
        byte[] image = synthetic();
        assertThat(load(image, 2560, 1)).isEmpty();
        assertThat(load(image, 2559, 1)).hasValueSatisfying(r -> assertThat(r.message())
                .isEqualTo("bzImage truncated"));
        // setup_sects 0 means 4, as in the kernel.
        assertThat(load(withU8(image, BzImageRules.SETUP_SECTS, 0), 2559, 1)).isPresent();
        assertThat(load(withU8(image, BzImageRules.SETUP_SECTS, 0), 2560, 1)).isEmpty();
    }

    @Test
    void aCommandLineAsLongAsCmdlineSizeFailsOnTheElfcorehdrReserveNotOnItsLength() {
        // "if (cmdline_len > header->cmdline_size)" then "if (cmdline_len + MAX_ELFCOREHDR_STR_LEN >
        // header->cmdline_size)", with MAX_ELFCOREHDR_STR_LEN 30 (defined in the same file).
        byte[] image = withU32(synthetic(), BzImageRules.CMDLINE_SIZE, 2047);
        assertThat(load(image, 1 << 16, 2047)).hasValueSatisfying(r -> {
            assertThat(r.errno()).isEqualTo(Errno.EINVAL);
            assertThat(r.message()).startsWith("Appending elfcorehdr=<addr>");
        });
        assertThat(load(image, 1 << 16, 2048)).hasValueSatisfying(r -> assertThat(r.message())
                .isEqualTo("Kernel command line too long"));
        assertThat(load(image, 1 << 16, 2017)).isEmpty();
        assertThat(load(image, 1 << 16, 2018)).isPresent();
        assertThat(BzImageRules.maxCommandLineLength(2047)).isEqualTo(2017);
        assertThat(BzImageRules.maxCommandLineLength(20)).isZero();
    }

    @Test
    void kernelVersionIsTheNulTerminatedStringAtKernelVersionPlus0x200() {
        // Documentation/x86/boot.rst: kernel_version points, less 0x200, to a NUL-terminated string.
        byte[] image = truncated(synthetic(), 1024);
        assertThat(BzImageRules.kernelVersion(ByteBuffer.wrap(image))).contains("6.1.0-synthetic (kdirect test image)");
        // A string that runs to the end of the buffer without its NUL ends there.
        byte[] unterminated = withU16(image, BzImageRules.KERNEL_VERSION, 1024 - 5 - 0x200);
        System.arraycopy("6.1.0".getBytes(StandardCharsets.US_ASCII), 0, unterminated, 1024 - 5, 5);
        assertThat(BzImageRules.kernelVersion(ByteBuffer.wrap(unterminated))).contains("6.1.0");
        // The model reads at most 256 characters of a version string.
        byte[] longVersion = synthetic();
        Arrays.fill(longVersion, 0x300, 0x300 + 300, (byte) 'v');
        assertThat(BzImageRules.kernelVersion(ByteBuffer.wrap(longVersion))).hasValueSatisfying(v ->
                assertThat(v).hasSize(256));
        assertThat(BzImageRules.kernelVersion(ByteBuffer.wrap(withU16(synthetic(), BzImageRules.KERNEL_VERSION, 0))))
                .isEmpty();
    }

    private static Optional<Refusal> probe(byte[] image, long length, boolean fiveLevel) {
        return BzImageRules.probe(ByteBuffer.wrap(image), length, fiveLevel);
    }

    private static Optional<Refusal> load(byte[] image, long length, long commandLineLength) {
        return BzImageRules.load(ByteBuffer.wrap(image), length, commandLineLength);
    }
}
