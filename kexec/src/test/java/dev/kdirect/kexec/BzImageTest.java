package dev.kdirect.kexec;

import static dev.kdirect.contract.TestImages.synthetic;
import static dev.kdirect.contract.TestImages.truncated;
import static dev.kdirect.contract.TestImages.withU16;
import static dev.kdirect.contract.TestImages.withU32;
import static dev.kdirect.contract.TestImages.withU8;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.contract.TestImages;
import dev.kdirect.rules.BzImageRules;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The header fields BzImage describes, read from the offsets of struct setup_header
 * (arch/x86/include/uapi/asm/bootparam.h; Documentation/x86/boot.rst), on TestImages' synthetic 2.15 image.
 */
class BzImageTest {
    @TempDir
    Path dir;

    @Test
    void readsEveryFieldOfTheSetupHeader() throws Exception {
        byte[] image = withU32(withU32(synthetic(), BzImage.PREF_ADDRESS, 0x1000000), BzImage.PREF_ADDRESS + 4, 1);
        BzImage header = BzImage.read(TestImages.write(dir, "bz", image));
        assertThat(header.length()).isEqualTo(image.length);
        assertThat(header.setupSectors()).isEqualTo(4);
        assertThat(header.setupBytes()).isEqualTo(5 * 512);
        assertThat(header.bootFlag()).isEqualTo(0xaa55);
        assertThat(header.hasHeaderSignature()).isTrue();
        assertThat(header.protocolVersion()).isEqualTo(0x020f);
        assertThat(header.protocolVersionText()).isEqualTo("2.15");
        assertThat(header.loadflags()).isEqualTo(BzImageRules.LOADED_HIGH);
        assertThat(header.xloadflags()).isEqualTo(0x7f);
        assertThat(header.cmdlineSize()).isEqualTo(2047);
        assertThat(header.initSize()).isEqualTo(1 << 20);
        assertThat(header.kernelAlignment()).isEqualTo(0x200000);
        assertThat(header.relocatable()).isTrue();
        assertThat(header.preferredAddress()).isEqualTo(0x1_0100_0000L);
        assertThat(header.kernelVersion()).contains("6.1.0-synthetic (kdirect test image)");
        assertThat(header.hasPeSignature()).isFalse();
    }

    @Test
    void unsignedFieldsReadAsUnsignedAndZeroSetupSectorsMeanFour() {
        byte[] image = withU8(withU32(withU32(synthetic(), BzImageRules.CMDLINE_SIZE, -1), BzImage.INIT_SIZE, -2),
                BzImageRules.SETUP_SECTS, 0);
        image = withU16(withU32(image, BzImage.KERNEL_ALIGNMENT, 0x80000000), BzImageRules.VERSION, 0x0a0b);
        BzImage header = BzImage.of(image);
        assertThat(header.cmdlineSize()).isEqualTo(0xffffffffL);
        assertThat(header.initSize()).isEqualTo(0xfffffffeL);
        assertThat(header.kernelAlignment()).isEqualTo(0x80000000L);
        assertThat(header.setupSectors()).isEqualTo(4);
        assertThat(header.protocolVersionText()).isEqualTo("10.11");
        assertThat(BzImage.of(withU8(synthetic(), BzImage.RELOCATABLE_KERNEL, 0)).relocatable()).isFalse();
        assertThat(BzImage.of(withU8(synthetic(), BzImageRules.SETUP_SECTS, 0xff)).setupSectors()).isEqualTo(255);
    }

    @Test
    void fieldsPastTheEndOfAShortFileReadAsZero() {
        // A field is read only when all its bytes are in the file: the last ones present still read.
        byte[] image = synthetic();
        assertThat(BzImage.of(truncated(image, BzImageRules.CMDLINE_SIZE + 3)).cmdlineSize()).isZero();
        assertThat(BzImage.of(truncated(image, BzImageRules.CMDLINE_SIZE + 4)).cmdlineSize()).isEqualTo(2047);
        assertThat(BzImage.of(truncated(image, BzImageRules.XLOADFLAGS + 1)).xloadflags()).isZero();
        assertThat(BzImage.of(truncated(image, BzImageRules.XLOADFLAGS + 2)).xloadflags()).isEqualTo(0x7f);
        assertThat(BzImage.of(truncated(image, BzImageRules.LOADFLAGS)).loadflags()).isZero();
        assertThat(BzImage.of(truncated(image, BzImageRules.LOADFLAGS + 1)).loadflags()).isEqualTo(1);
        byte[] withAddress = withU32(image, BzImage.PREF_ADDRESS, 0x1000000);
        assertThat(BzImage.of(truncated(withAddress, BzImage.PREF_ADDRESS + 7)).preferredAddress()).isZero();
        assertThat(BzImage.of(truncated(withAddress, BzImage.PREF_ADDRESS + 8)).preferredAddress())
                .isEqualTo(0x1000000);
        assertThat(BzImage.of(truncated(image, 0x100)).hasHeaderSignature()).isFalse();
    }

    @Test
    void aPeImageIsSignedWhenItsCertificateTableIsNotEmpty() {
        // PE/COFF: "MZ", e_lfanew at 0x3c, "PE\0\0", the optional header 24 bytes on; data directory 4 (the
        // certificate table) at 144 (PE32+) or 128 (PE32) into it, its size 4 bytes further.
        int pe = 0x80;
        ByteBuffer b = ByteBuffer.wrap(synthetic()).order(ByteOrder.LITTLE_ENDIAN);
        b.putShort(0, (short) 0x5a4d).putInt(0x3c, pe).putInt(pe, 0x00004550).putShort(pe + 24, (short) 0x20b);
        byte[] unsigned = b.array().clone();
        assertThat(BzImage.of(unsigned).hasPeSignature()).isFalse();
        b.putInt(pe + 24 + 144 + 4, 0x1000);
        assertThat(BzImage.of(b.array()).hasPeSignature()).isTrue();
        // PE32: the table sits 16 bytes earlier.
        ByteBuffer pe32 = ByteBuffer.wrap(unsigned.clone()).order(ByteOrder.LITTLE_ENDIAN);
        pe32.putShort(pe + 24, (short) 0x10b).putInt(pe + 24 + 128 + 4, 0x1000);
        assertThat(BzImage.of(pe32.array()).hasPeSignature()).isTrue();
        // No "PE\0\0" where e_lfanew points, or e_lfanew outside the file: not a signed PE image.
        assertThat(BzImage.of(withU32(b.array(), pe, 0)).hasPeSignature()).isFalse();
        assertThat(BzImage.of(withU32(b.array(), 0x3c, 0)).hasPeSignature()).isFalse();
        assertThat(BzImage.of(withU32(b.array(), 0x3c, b.capacity() - 24 - 144 - 7)).hasPeSignature()).isFalse();
        assertThat(BzImage.of(withU16(b.array(), 0, 0x5a4e)).hasPeSignature()).isFalse();
    }
}
