package dev.kdirect.rules;

import dev.kdirect.Errno;
import dev.kdirect.backend.CpuFlags;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Optional;

/**
 * The x86-64 bzImage checks of kexec_file_load (arch/x86/kernel/kexec-bzimage64.c, Linux 6.1), in the kernel's
 * order: {@link #probe} is bzImage64_probe (run right after the file is read), {@link #load} the first checks of
 * bzImage64_load (run after the initrd is read and the command line copied). Offsets are those of struct
 * setup_header at 0x1f1 (arch/x86/include/uapi/asm/bootparam.h).
 */
public final class BzImageRules {
    /** The boot sector and one setup sector: bzImage64_probe's minimum length. */
    public static final int MIN_LENGTH = 2 * 512;
    /** MAX_ELFCOREHDR_STR_LEN: room kept for "elfcorehdr=0x...", on every load, not only crash loads. */
    public static final int ELFCOREHDR_RESERVE = 30;
    /** The lowest boot protocol kexec_file_load accepts: 2.12. */
    public static final int MIN_PROTOCOL = 0x020c;
    public static final int LOADED_HIGH = 0x01;
    public static final int XLF_KERNEL_64 = 0x01;
    public static final int XLF_CAN_BE_LOADED_ABOVE_4G = 0x02;
    public static final int XLF_5LEVEL = 0x20;

    /** Offsets in the file of the struct setup_header fields the checks read. */
    public static final int SETUP_SECTS = 0x1f1;
    public static final int BOOT_FLAG = 0x1fe;
    public static final int HEADER = 0x202;
    public static final int VERSION = 0x206;
    public static final int KERNEL_VERSION = 0x20e;
    public static final int LOADFLAGS = 0x211;
    public static final int XLOADFLAGS = 0x236;
    public static final int CMDLINE_SIZE = 0x238;
    /** The alignment the kernel wants for its own placement (kexec_add_buffer's buf_align). */
    public static final int KERNEL_ALIGNMENT = 0x230;
    /** The u64 physical address the kernel prefers to be loaded at; 6.12's kexec places it no lower. */
    public static final int PREF_ADDRESS = 0x258;
    /** The memory the kernel needs from its load address on (its segment's memsz, page aligned). */
    public static final int INIT_SIZE = 0x260;
    /** "HdrS" read as a little-endian int. */
    public static final int HDRS = 0x53726448;

    private BzImageRules() {
    }

    /**
     * bzImage64_probe: is this an image the x86-64 loader takes? Every refusal is ENOEXEC.
     *
     * @param image the whole file, or at least its first 1024 bytes plus its true {@code length}
     * @param length the file's length
     * @param fiveLevelPaging whether the running kernel uses 5-level page tables (pgtable_l5_enabled)
     */
    public static Optional<Refusal> probe(ByteBuffer image, long length, boolean fiveLevelPaging) {
        ByteBuffer b = image.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (length < MIN_LENGTH || b.limit() < MIN_LENGTH) {
            return refuse(Errno.ENOEXEC, "File is too short to be a bzImage", "an image needs at least 1024 bytes");
        }
        if (b.getInt(HEADER) != HDRS) {
            return refuse(Errno.ENOEXEC, "Not a bzImage", "no \"HdrS\" signature at 0x202");
        }
        if ((b.getShort(BOOT_FLAG) & 0xffff) != 0xaa55) {
            return refuse(Errno.ENOEXEC, "No x86 boot sector present", "boot_flag at 0x1fe is not 0xAA55");
        }
        int version = b.getShort(VERSION) & 0xffff;
        if (version < MIN_PROTOCOL) {
            return refuse(Errno.ENOEXEC, "Must be at least protocol version 2.12",
                    "boot protocol " + (version >> 8) + "." + (version & 0xff) + " is older than 2.12");
        }
        if ((b.get(LOADFLAGS) & LOADED_HIGH) == 0) {
            return refuse(Errno.ENOEXEC, "zImage not a bzImage", "loadflags lacks LOADED_HIGH");
        }
        int xloadflags = b.getShort(XLOADFLAGS) & 0xffff;
        if ((xloadflags & XLF_KERNEL_64) == 0) {
            return refuse(Errno.ENOEXEC, "Not a bzImage64. XLF_KERNEL_64 is not set.",
                    "xloadflags lacks XLF_KERNEL_64: not a 64-bit kernel");
        }
        if ((xloadflags & XLF_CAN_BE_LOADED_ABOVE_4G) == 0) {
            return refuse(Errno.ENOEXEC, "XLF_CAN_BE_LOADED_ABOVE_4G is not set.",
                    "xloadflags lacks XLF_CAN_BE_LOADED_ABOVE_4G");
        }
        if ((xloadflags & XLF_5LEVEL) == 0 && fiveLevelPaging) {
            return refuse(Errno.ENOEXEC, "bzImage cannot handle 5-level paging mode.",
                    "the running kernel uses 5-level paging and xloadflags lacks XLF_5LEVEL");
        }
        return Optional.empty();
    }

    /**
     * The checks at the start of bzImage64_load, after a successful {@link #probe}.
     *
     * @param commandLineLength the command line length passed to the syscall, terminating NUL included
     */
    public static Optional<Refusal> load(ByteBuffer image, long length, long commandLineLength) {
        ByteBuffer b = image.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int sectors = b.get(SETUP_SECTS) & 0xff;
        long setupBytes = ((sectors == 0 ? 4 : sectors) + 1L) * 512;
        if (length < setupBytes) {
            return refuse(Errno.ENOEXEC, "bzImage truncated",
                    "the file is shorter than its " + setupBytes + " bytes of boot sector and setup code");
        }
        long limit = Integer.toUnsignedLong(b.getInt(CMDLINE_SIZE));
        if (commandLineLength > limit) {
            return refuse(Errno.EINVAL, "Kernel command line too long",
                    "the command line is " + commandLineLength + " bytes; the image's cmdline_size is " + limit);
        }
        if (commandLineLength + ELFCOREHDR_RESERVE > limit) {
            return refuse(Errno.EINVAL, "Appending elfcorehdr=<addr> to command line exceeds maximum allowed length",
                    "the command line (with its NUL) may have at most " + maxCommandLineLength(limit)
                            + " bytes: the kernel keeps " + ELFCOREHDR_RESERVE + " of the image's " + limit
                            + " for elfcorehdr=");
        }
        return Optional.empty();
    }

    /**
     * pgtable_l5_enabled() of the running kernel: the la57 CPU flag, which the kernel clears when it does not use
     * 5-level paging.
     */
    public static boolean runningKernelUsesFiveLevelPaging() {
        return CpuFlags.has("la57");
    }

    /** The longest command line, NUL included, an image with this cmdline_size loads with (2017 for 2047). */
    public static long maxCommandLineLength(long cmdlineSize) {
        return Math.max(0, cmdlineSize - ELFCOREHDR_RESERVE);
    }

    /**
     * The version string a bzImage carries (kernel_version at 0x20e points to it, relative to 0x200), e.g.
     * "6.1.0-50-amd64 (debian-kernel@...) #1 SMP ...".
     */
    public static Optional<String> kernelVersion(ByteBuffer image) {
        ByteBuffer b = image.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.limit() < MIN_LENGTH || b.getInt(HEADER) != HDRS) {
            return Optional.empty();
        }
        int start = 0x200 + (b.getShort(KERNEL_VERSION) & 0xffff);
        StringBuilder version = new StringBuilder();
        for (int i = start; i < b.limit() && b.get(i) != 0 && version.length() < 256; i++) {
            version.append((char) (b.get(i) & 0xff));
        }
        return start == 0x200 || version.isEmpty() ? Optional.empty() : Optional.of(version.toString());
    }

    private static Optional<Refusal> refuse(Errno errno, String message, String rule) {
        return Optional.of(new Refusal(errno, message, rule));
    }
}
