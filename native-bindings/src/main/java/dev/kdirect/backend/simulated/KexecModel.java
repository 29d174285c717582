package dev.kdirect.backend.simulated;

import dev.kdirect.Capability;
import dev.kdirect.Credentials;
import dev.kdirect.Errno;
import dev.kdirect.KernelRelease;
import dev.kdirect.KexecFlags;
import dev.kdirect.SimulatedReboot;
import dev.kdirect.rules.BzImageRules;
import dev.kdirect.rules.Refusal;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;

/**
 * kexec_file_load and the kexec reboot (kernel/kexec_file.c, kernel/kexec_core.c, fs/kernel_read_file.c,
 * arch/x86/kernel/kexec-bzimage64.c) as the kernel release the simulated machine is given has them (by default
 * the running kernel's, which the simulated kernel stands in for; tests pin one): the two image slots, the order
 * of checks that decides which errno wins, where the segments are placed ({@link KexecPlacement}, on the QEMU
 * guest's memory map), and purgatory's SHA-256 over the loaded segments, checked at reboot. The machine has
 * no crashkernel= reservation, like the QEMU guest: a crash load fails with EADDRNOTAVAIL. Exposed through
 * /sys/kernel/kexec_loaded, kexec_crash_loaded and kexec_crash_size (kernel/ksysfs.c).
 *
 * <p>Where releases differ: KEXEC_FILE_DEBUG (8) is a known flag from 6.8 on; KEXEC_FILE_NO_CMA (0x10) and
 * KEXEC_FILE_FORCE_DTB (0x20) came after 6.12, in releases the model does not pin down, so with a release past 6.12
 * those bits throw; the placement follows 6.1 or 6.12 ({@link KexecPlacement}) and throws for other releases. The
 * simulated machine has no CMA area, so the kexec_alloc_contig of later releases finds none and the walk decides.
 */
final class KexecModel {
    static final long UNLOAD = KexecFlags.UNLOAD;
    static final long ON_CRASH = KexecFlags.ON_CRASH;
    static final long NO_INITRAMFS = KexecFlags.NO_INITRAMFS;
    private static final long KNOWN_FLAGS = UNLOAD | ON_CRASH | NO_INITRAMFS;
    /** KEXEC_FILE_NO_CMA and KEXEC_FILE_FORCE_DTB (include/uapi/linux/kexec.h of releases after 6.12). */
    private static final long FLAGS_AFTER_6_12 = 0x10 | 0x20;
    private static final long FILE_SIZE_MAX = 4L << 30; // KEXEC_FILE_SIZE_MAX
    /** The setup code's jump offset: the setup header ends at 0x202 plus this byte (Documentation/x86/boot.rst). */
    private static final int SETUP_JUMP_OFFSET = 0x201;

    private final Credentials credentials;
    private final FdTable fds;
    private final boolean fiveLevelPaging = BzImageRules.runningKernelUsesFiveLevelPaging();
    private final KernelRelease release;
    /** The simulated machine's memory, where the segments are placed: the QEMU guest's. */
    private final KexecPlacement placement;
    private Image image;
    private Image crashImage;

    /** A loaded image: its segments as purgatory will hash them, and the digest taken at load. */
    private record Image(byte[] kernel, byte[] initrd, byte[] commandLine, byte[] digest) {
        String kernelVersion() {
            return BzImageRules.kernelVersion(ByteBuffer.wrap(kernel)).orElse("");
        }
    }

    KexecModel(Credentials credentials, FdTable fds, SimulatedFiles files, KernelRelease release) {
        this.credentials = credentials;
        this.fds = fds;
        this.release = release;
        this.placement = new KexecPlacement(KexecPlacement.GUEST_MEMORY, release);
        files.addVirtualFile(Path.of("/sys/kernel/kexec_loaded"), () -> flag(image));
        files.addVirtualFile(Path.of("/sys/kernel/kexec_crash_loaded"), () -> flag(crashImage));
        files.addVirtualFile(Path.of("/sys/kernel/kexec_crash_size"), () -> "0\n");
    }

    /** SYSCALL_DEFINE5(kexec_file_load) with kimage_file_prepare_segments and bzImage64_load's checks. */
    synchronized long load(int kernelFd, int initrdFd, MemorySegment commandLine, long flags) {
        if (!credentials.capable(Capability.SYS_BOOT)) {
            return -Errno.EPERM.value(); // kexec_load_disabled is 0 in the model
        }
        // KEXEC_FILE_FLAGS (include/linux/kexec.h): KEXEC_FILE_DEBUG joined it in 6.8
        long known = release.atLeast(6, 8) ? KNOWN_FLAGS | KexecFlags.DEBUG : KNOWN_FLAGS;
        if ((flags & ~(known | FLAGS_AFTER_6_12)) != 0) {
            return -Errno.EINVAL.value();
        }
        if ((flags & FLAGS_AFTER_6_12) != 0) {
            if (!release.atLeast(6, 13)) {
                return -Errno.EINVAL.value(); // not in 6.12's KEXEC_FILE_FLAGS
            }
            throw new UnsupportedOperationException("kexec_file_load with flags 0x" + Long.toHexString(flags)
                    + " on " + release + ": KEXEC_FILE_NO_CMA (0x10) and KEXEC_FILE_FORCE_DTB (0x20) came after 6.12,"
                    + " and the simulated kernel does not know from which release on they are accepted");
        }
        boolean crash = (flags & ON_CRASH) != 0;
        if ((flags & UNLOAD) != 0) {
            setSlot(crash, null); // returns 0 whether or not anything was loaded
            return 0;
        }
        if (crash) {
            crashImage = null; // the old crash image is freed before the new load is tried
        }
        FileRead kernel = readWholeFile(kernelFd);
        if (kernel.errno != 0) {
            return -kernel.errno;
        }
        Optional<Refusal> refusal = BzImageRules.probe(ByteBuffer.wrap(kernel.bytes), kernel.bytes.length,
                fiveLevelPaging);
        if (refusal.isPresent()) {
            return -Errno.ENOEXEC.value();
        }
        byte[] initrd = new byte[0];
        if ((flags & NO_INITRAMFS) == 0) {
            FileRead read = readWholeFile(initrdFd);
            if (read.errno != 0) {
                return -read.errno;
            }
            initrd = read.bytes;
        }
        if (commandLine.byteSize() > 0 && commandLine.address() == 0) {
            return -Errno.EFAULT.value(); // memdup_user of a NULL pointer
        }
        byte[] cmdline = commandLine.toArray(ValueLayout.JAVA_BYTE);
        if (cmdline.length > 0 && cmdline[cmdline.length - 1] != 0) {
            return -Errno.EINVAL.value();
        }
        refusal = BzImageRules.load(ByteBuffer.wrap(kernel.bytes), kernel.bytes.length, cmdline.length);
        if (refusal.isPresent()) {
            return -refusal.get().errno().value();
        }
        if (crash) {
            return -Errno.EADDRNOTAVAIL.value(); // no crashkernel= memory: kexec_locate_mem_hole finds none
        }
        if (kernel.bytes[SETUP_JUMP_OFFSET] < 0) {
            // bzImage64_load copies 0x202 + kernel[0x201] - 0x1f1 bytes of the header with a signed char: a jump
            // offset of 0x80 or more makes the size negative and the memcpy overruns the kernel's heap (an oops in
            // the QEMU guest, 6.1.0-57), so the call never returns an errno
            throw new UnsupportedOperationException("kexec_file_load of a bzImage whose byte at 0x201 is 0x"
                    + Integer.toHexString(kernel.bytes[SETUP_JUMP_OFFSET] & 0xff) + ": bzImage64_load reads it as a"
                    + " signed char and copies a negative number of header bytes; the kernel oopses, which the"
                    + " simulated kernel does not model");
        }
        int placed = placement.place(kernel.bytes, initrd.length, cmdline.length);
        if (placed != 0) {
            return placed;
        }
        setSlot(false, new Image(kernel.bytes, initrd, cmdline, digest(kernel.bytes, initrd, cmdline)));
        return 0;
    }

    /**
     * kernel_kexec: EINVAL without a loaded image (a crash image does not count); otherwise purgatory hashes the
     * segments and boots, or hangs on a mismatch.
     */
    synchronized int reboot() {
        Image loaded = image;
        if (loaded == null) {
            return -Errno.EINVAL.value();
        }
        boolean intact = MessageDigest.isEqual(loaded.digest,
                digest(loaded.kernel, loaded.initrd, loaded.commandLine));
        String cmdline = new String(loaded.commandLine, StandardCharsets.US_ASCII).replace("\0", "");
        String initrdDigest = loaded.initrd.length == 0 ? "" : HexFormat.of().formatHex(sha256().digest(loaded.initrd));
        throw new SimulatedReboot(loaded.kernelVersion(), cmdline, initrdDigest, !intact);
    }

    /** Changes one byte of the loaded kernel segment, as a stray DMA or a bug would after load. */
    synchronized void corruptLoadedKernel() {
        if (image == null) {
            throw new IllegalStateException("no kexec image is loaded in the simulated kernel");
        }
        image.kernel[image.kernel.length / 2] ^= 1;
    }

    private void setSlot(boolean crash, Image loaded) {
        if (crash) {
            crashImage = loaded;
        } else {
            image = loaded;
        }
    }

    private record FileRead(byte[] bytes, int errno) {
        static FileRead refused(int errno) {
            return new FileRead(null, errno);
        }
    }

    /** kernel_read_file_from_fd then kernel_read_file (fs/kernel_read_file.c), in their order. */
    private FileRead readWholeFile(int fd) {
        FileDescription description = fds.get(fd);
        if (description == null || description instanceof OpenFile opened && !opened.canRead()) {
            return FileRead.refused(Errno.EBADF.value()); // no file, or no FMODE_READ
        }
        if (!(description instanceof OpenFile file) || file.directory()) {
            return FileRead.refused(Errno.EINVAL.value()); // not S_ISREG (sockets have FMODE_READ and fail here)
        }
        if (fds.anyMatch(d -> d instanceof OpenFile other && other.canWrite() && other.path.equals(file.path))) {
            return FileRead.refused(Errno.ETXTBSY.value()); // deny_write_access: open for writing (this fd included)
        }
        long size;
        try {
            size = file.size();
        } catch (IOException e) {
            return FileRead.refused(Errno.EIO.value()); // as a failed read of the file below
        }
        if (size <= 0) {
            return FileRead.refused(Errno.EINVAL.value());
        }
        if (size > FILE_SIZE_MAX) {
            return FileRead.refused(Errno.EFBIG.value());
        }
        if (size > Integer.MAX_VALUE - 16) {
            throw new UnsupportedOperationException("the simulated kernel reads kexec files of up to 2 GiB");
        }
        try {
            ByteBuffer bytes = ByteBuffer.allocate((int) size);
            while (bytes.hasRemaining() && file.channel.read(bytes, bytes.position()) >= 0) {
                // read the whole file, as kernel_read_file does
            }
            return bytes.hasRemaining() ? FileRead.refused(Errno.EIO.value()) : new FileRead(bytes.array(), 0);
        } catch (IOException e) {
            return FileRead.refused(Errno.EIO.value());
        }
    }

    private static byte[] digest(byte[] kernel, byte[] initrd, byte[] commandLine) {
        MessageDigest sha = sha256();
        sha.update(kernel);
        sha.update(initrd);
        sha.update(commandLine);
        return sha.digest();
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    private static String flag(Image slot) {
        return slot == null ? "0\n" : "1\n";
    }
}
