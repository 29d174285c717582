package dev.kdirect.contract;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;

/**
 * bzImages for tests: the first 64 KiB of Debian's real kernel where it is on this machine (in the QEMU guest
 * always: ci/qemu passes its path as KDIRECT_GUEST_KERNEL), else a synthetic header that passes every check. A
 * 64 KiB prefix keeps the real kernel's header and setup code, so it loads like the whole file (the kernel checks
 * nothing past the setup code at load time), only faster.
 */
public final class TestImages {
    public static final int PREFIX = 64 * 1024;

    private TestImages() {
    }

    /** The real kernel image, if this machine has one. */
    public static Optional<Path> realKernel() {
        String guest = System.getenv("KDIRECT_GUEST_KERNEL");
        if (guest != null && Files.isRegularFile(Path.of(guest))) {
            return Optional.of(Path.of(guest));
        }
        Path cached = Path.of(System.getProperty("user.home"), ".cache", "kdirect", "qemu", "vmlinuz");
        return Files.isRegularFile(cached) ? Optional.of(cached) : Optional.empty();
    }

    /**
     * The bytes of a loadable image: the real kernel's first 64 KiB, or a synthetic header, with init_size 1 MiB.
     * The kernel's segment is init_size bytes of memory, and the load hashes all of it for purgatory: Debian's
     * 63 MiB would cost seconds per load under emulation, and placement is not what these tests are about.
     */
    public static byte[] loadable() throws IOException {
        Optional<Path> real = realKernel();
        if (real.isPresent()) {
            try (var in = Files.newInputStream(real.get())) {
                return withU32(in.readNBytes(PREFIX), 0x260, 1 << 20);
            }
        }
        return synthetic();
    }

    /** A bzImage header for protocol 2.15 with every flag kexec wants, 4 setup sectors, cmdline_size 2047. */
    public static byte[] synthetic() {
        ByteBuffer b = ByteBuffer.allocate(PREFIX).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0x1f1, (byte) 4);
        b.putShort(0x1fe, (short) 0xaa55);
        b.putInt(0x202, 0x53726448);
        b.putShort(0x206, (short) 0x020f);
        b.putShort(0x20e, (short) 0x100);
        b.put(0x300, "6.1.0-synthetic (kdirect test image)".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        b.put(0x211, (byte) 0x01);
        b.putInt(0x230, 0x200000);
        b.put(0x234, (byte) 1);
        b.putShort(0x236, (short) 0x7f);
        b.putInt(0x238, 2047);
        b.putInt(0x260, 1 << 20);
        return b.array();
    }

    public static byte[] withU8(byte[] image, int offset, int value) {
        byte[] copy = image.clone();
        copy[offset] = (byte) value;
        return copy;
    }

    public static byte[] withU16(byte[] image, int offset, int value) {
        byte[] copy = image.clone();
        ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN).putShort(offset, (short) value);
        return copy;
    }

    public static byte[] withU32(byte[] image, int offset, int value) {
        byte[] copy = image.clone();
        ByteBuffer.wrap(copy).order(ByteOrder.LITTLE_ENDIAN).putInt(offset, value);
        return copy;
    }

    public static int u16(byte[] image, int offset) {
        return ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).getShort(offset) & 0xffff;
    }

    public static byte[] truncated(byte[] image, int length) {
        return Arrays.copyOf(image, length);
    }

    public static Path write(Path dir, String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }
}
