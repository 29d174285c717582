package dev.kdirect.kexec;

import dev.kdirect.rules.BzImageRules;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The header of an x86 bzImage: the fields of struct setup_header (arch/x86/include/uapi/asm/bootparam.h,
 * Documentation/arch/x86/boot.rst) that kexec_file_load looks at, read without judging them. {@link
 * KexecValidator} applies the kernel's checks to them.
 *
 * <p>Offsets are file offsets; a field past the end of a short file reads as 0, so a truncated image can still be
 * described (and then refused for its length).
 */
public final class BzImage {
    // The offsets the kernel's checks read come from BzImageRules; these four only describe the image.
    static final int KERNEL_ALIGNMENT = BzImageRules.KERNEL_ALIGNMENT;
    static final int RELOCATABLE_KERNEL = 0x234;
    static final int PREF_ADDRESS = BzImageRules.PREF_ADDRESS;
    static final int INIT_SIZE = BzImageRules.INIT_SIZE;

    private final long length;
    private final ByteBuffer head;

    private BzImage(long length, ByteBuffer head) {
        this.length = length;
        this.head = head.order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The first bytes of the file (64 KiB at most): all the kernel's checks look at. */
    ByteBuffer head() {
        return head.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Reads the header (the first 64 KiB at most) of the file at {@code path}. */
    public static BzImage read(Path path) throws IOException {
        long size = Files.size(path);
        byte[] head = new byte[(int) Math.min(size, 64 * 1024)];
        try (var in = Files.newInputStream(path)) {
            int n = in.readNBytes(head, 0, head.length);
            return new BzImage(size, ByteBuffer.wrap(head, 0, n).slice());
        }
    }

    /** Describes an image held in memory. */
    public static BzImage of(byte[] image) {
        return new BzImage(image.length, ByteBuffer.wrap(image));
    }

    /** The file's length in bytes. */
    public long length() {
        return length;
    }

    /** setup_sects: 512-byte sectors of real-mode setup code after the boot sector; 0 means 4. */
    public int setupSectors() {
        int sectors = u8(BzImageRules.SETUP_SECTS);
        return sectors == 0 ? 4 : sectors;
    }

    /** The bytes before the protected-mode kernel: the boot sector plus the setup sectors. */
    public long setupBytes() {
        return (setupSectors() + 1L) * 512;
    }

    /** boot_flag, 0xAA55 in a real image. */
    public int bootFlag() {
        return u16(BzImageRules.BOOT_FLAG);
    }

    /** True when the "HdrS" signature is at 0x202. */
    public boolean hasHeaderSignature() {
        return i32(BzImageRules.HEADER) == BzImageRules.HDRS;
    }

    /** The boot protocol version, e.g. 0x020f for 2.15. */
    public int protocolVersion() {
        return u16(BzImageRules.VERSION);
    }

    /** The protocol version as text, e.g. "2.15". */
    public String protocolVersionText() {
        return (protocolVersion() >> 8) + "." + (protocolVersion() & 0xff);
    }

    /** loadflags: bit 0 LOADED_HIGH (the kernel runs at 1 MiB: a bzImage, not a zImage). */
    public int loadflags() {
        return u8(BzImageRules.LOADFLAGS);
    }

    /** xloadflags: XLF_KERNEL_64 1, XLF_CAN_BE_LOADED_ABOVE_4G 2, EFI handovers 4 and 8, XLF_5LEVEL 0x20, ... */
    public int xloadflags() {
        return u16(BzImageRules.XLOADFLAGS);
    }

    /** The largest command line the kernel accepts, without the terminating NUL (protocol 2.06+). */
    public long cmdlineSize() {
        return Integer.toUnsignedLong(i32(BzImageRules.CMDLINE_SIZE));
    }

    /** The memory the kernel needs from its load address to decompress and start. */
    public long initSize() {
        return Integer.toUnsignedLong(i32(INIT_SIZE));
    }

    /** The physical alignment a relocatable kernel needs. */
    public long kernelAlignment() {
        return Integer.toUnsignedLong(i32(KERNEL_ALIGNMENT));
    }

    /** True when the kernel may be loaded at any suitably aligned address. */
    public boolean relocatable() {
        return u8(RELOCATABLE_KERNEL) != 0;
    }

    /** The preferred load address. */
    public long preferredAddress() {
        return i64(PREF_ADDRESS);
    }

    /** The kernel's version string (kernel_version points 0x200 bytes before it), if the header has one. */
    public Optional<String> kernelVersion() {
        return BzImageRules.kernelVersion(head);
    }

    /**
     * True when the image carries an Authenticode signature: a PE/COFF image (EFI stub) whose certificate table
     * (data directory 4 of the PE32+ optional header) is not empty, as sbsign appends it.
     */
    public boolean hasPeSignature() {
        if (u16(0) != 0x5a4d) { // "MZ"
            return false;
        }
        int pe = i32(0x3c);
        if (pe <= 0 || pe + 24 + 144 + 8 > head.limit() || i32(pe) != 0x00004550) { // "PE\0\0"
            return false;
        }
        int optional = pe + 24;
        int certificateTable = u16(optional) == 0x20b ? optional + 144 : optional + 128; // PE32+ : PE32
        return i32(certificateTable + 4) != 0;
    }

    private int u8(int offset) {
        return offset < head.limit() ? head.get(offset) & 0xff : 0;
    }

    private int u16(int offset) {
        return offset + 2 <= head.limit() ? head.getShort(offset) & 0xffff : 0;
    }

    private int i32(int offset) {
        return offset + 4 <= head.limit() ? head.getInt(offset) : 0;
    }

    private long i64(int offset) {
        return offset + 8 <= head.limit() ? head.getLong(offset) : 0;
    }
}
