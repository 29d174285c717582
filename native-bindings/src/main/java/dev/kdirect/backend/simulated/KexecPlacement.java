package dev.kdirect.backend.simulated;

import dev.kdirect.Errno;
import dev.kdirect.rules.BzImageRules;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Comparator;
import java.util.List;

/**
 * Where kexec_file_load places the segments of a bzImage in the simulated machine's memory, and the segment checks
 * after it (Linux 6.1: bzImage64_load in arch/x86/kernel/kexec-bzimage64.c, kexec_add_buffer,
 * kexec_walk_resources and locate_mem_hole_top_down in kernel/kexec_file.c, sanity_check_segment_list in
 * kernel/kexec_core.c). 6.1 walks the System RAM ranges bottom-up (walk_system_ram_res) and each range top-down, so
 * purgatory (from 0x3000) and the boot parameters (from 0x1000) land at the top of the low range below 640 KiB,
 * and the kernel segment (from MIN_KERNEL_LOAD_ADDR, 1 MiB) and the initrd (from MIN_INITRD_LOAD_ADDR, 16 MiB) in
 * the high range, where nothing else lies. The kernel segment is PAGE_ALIGN(init_size) bytes (a 32-bit sum: an
 * init_size past 0xfffff000 wraps to 0); its first candidate is {@code end - memsz} (one byte below the top: 6.1's
 * off-by-one, fixed in 6.8 by "kexec_file: fix incorrect temp_start value") masked with
 * {@code ~(max(kernel_alignment, PAGE_SIZE) - 1)}, exactly as the kernel masks, so an alignment that is no power of
 * two clears arbitrary bits and may leave the segment off a page boundary, which sanity_check_segment_list refuses
 * with EADDRNOTAVAIL. No hole: EADDRNOTAVAIL; then a segment whose file bytes exceed its memory, or segments over
 * half the memory, are EINVAL. Measured in the QEMU guest (6.1, 3 GiB), whose memory map is the default.
 *
 * <p>Where the answer depends on what the model does not know, it throws UnsupportedOperationException naming the
 * rule: boot parameters too big for the low range (a command line of hundreds of KiB), or segments near half of the
 * memory (sanity_check_segment_list compares them with totalram_pages(), the memory the kernel manages). Kernels
 * from 6.10 on walk the ranges top-down (walk_system_ram_res_rev), putting purgatory at the top of memory: the
 * model follows 6.1.
 */
final class KexecPlacement {
    /** A range of System RAM, both ends inclusive, as /proc/iomem lists it. */
    record Range(long start, long end) {
        long size() {
            return end - start + 1;
        }
    }

    /** The QEMU guest's System RAM (/proc/iomem with 3 GiB, kernel 6.1). */
    static final List<Range> GUEST_MEMORY = List.of(new Range(0x1000, 0x9fbff), new Range(0x100000, 0xbffdefffL));

    private static final long PAGE = 4096;
    /** MIN_KERNEL_LOAD_ADDR and MIN_INITRD_LOAD_ADDR (arch/x86/kernel/kexec-bzimage64.c). */
    private static final long MIN_KERNEL_LOAD = 0x100000;
    private static final long MIN_INITRD_LOAD = 0x1000000;
    /** More than purgatory and the boot parameters take (tens of KiB), counted against half of the memory. */
    private static final long SMALL_SEGMENTS = 1 << 20;
    /** The most boot parameters (4 KiB, command line, 30 bytes) the model places in the low range. */
    private static final long LOW_PARAMETERS = 256 << 10;
    /** How far below the RAM ranges' total the kernel's totalram_pages may be (memory it reserved for itself). */
    private static final long MANAGED_MARGIN = 512L << 20;
    private static final int SETUP_SECTS = BzImageRules.SETUP_SECTS;
    private static final int KERNEL_ALIGNMENT = BzImageRules.KERNEL_ALIGNMENT;
    private static final int INIT_SIZE = BzImageRules.INIT_SIZE;

    private final List<Range> memory;

    KexecPlacement(List<Range> memory) {
        this.memory = List.copyOf(memory);
    }

    /**
     * 0 when the segments of this image (and initrd) are placed and pass the checks, else -errno.
     *
     * @param commandLineLength the command line's length with its NUL: it goes into the boot parameters' segment
     * @throws UnsupportedOperationException where the kernel's answer depends on what the model does not know
     */
    int place(byte[] kernel, long initrdLength, long commandLineLength) {
        ByteBuffer b = ByteBuffer.wrap(kernel).order(ByteOrder.LITTLE_ENDIAN);
        if (commandLineLength + 4096 + 64 > LOW_PARAMETERS) {
            throw new UnsupportedOperationException("kexec_file_load with a command line of " + commandLineLength
                    + " bytes: whether the boot parameters still fit in the low RAM range beside purgatory"
                    + " (kexec_locate_mem_hole) depends on purgatory's size, which the simulated kernel does not"
                    + " model");
        }
        int sectors = b.get(SETUP_SECTS) & 0xff;
        long setupBytes = ((sectors == 0 ? 4 : sectors) + 1L) * 512;
        long fileBytes = kernel.length - setupBytes;
        long memsz = (Integer.toUnsignedLong(b.getInt(INIT_SIZE)) + PAGE - 1) & 0xffff_f000L; // u32 PAGE_ALIGN
        long alignment = Math.max(Integer.toUnsignedLong(b.getInt(KERNEL_ALIGNMENT)), PAGE); // kexec_add_buffer
        long kernelAt = placeTopDown(memsz, alignment, MIN_KERNEL_LOAD, -1, 0);
        if (kernelAt < 0) {
            return -Errno.EADDRNOTAVAIL.value();
        }
        long initrdMemsz = (initrdLength + PAGE - 1) & -PAGE;
        if (initrdLength > 0 && placeTopDown(initrdMemsz, PAGE, MIN_INITRD_LOAD, kernelAt, memsz) < 0) {
            return -Errno.EADDRNOTAVAIL.value();
        }
        if ((kernelAt & (PAGE - 1)) != 0) {
            return -Errno.EADDRNOTAVAIL.value(); // sanity_check_segment_list: mstart or mend not page aligned
        }
        if (fileBytes > memsz) {
            return -Errno.EINVAL.value(); // sanity_check_segment_list: bufsz > memsz
        }
        long total = memory.stream().mapToLong(Range::size).sum();
        if (memsz + initrdMemsz > total / 2) {
            return -Errno.EINVAL.value(); // more than half of totalram_pages, which is at most the RAM's total
        }
        long used = memsz + initrdMemsz + SMALL_SEGMENTS;
        if (used > (total - MANAGED_MARGIN) / 2) {
            throw new UnsupportedOperationException("kexec_file_load of segments of " + used + " bytes, near half"
                    + " of the simulated machine's " + total + " bytes: sanity_check_segment_list compares them with"
                    + " totalram_pages(), the memory the kernel manages, which the simulated kernel does not know");
        }
        return 0;
    }

    /**
     * kexec_walk_resources with locate_mem_hole_callback and locate_mem_hole_top_down (Linux 6.1): the ranges
     * bottom-up, skipping one smaller than {@code size} or ending below {@code minimum}; in a range the candidate
     * {@code end - size} masked with {@code ~(alignment - 1)}, moved down a page at a time (then masked again) while
     * it overlaps the segment already placed at {@code placedAt} ({@code placedSize} bytes,
     * kimage_is_destination_range); the first that starts in the range and at or above {@code minimum} wins. -1 when none does.
     */
    private long placeTopDown(long size, long alignment, long minimum, long placedAt, long placedSize) {
        for (Range r : memory.stream().sorted(Comparator.comparingLong(Range::start)).toList()) {
            if (r.size() < size || r.end() < minimum) {
                continue;
            }
            long candidate = r.end() - size;
            while (true) {
                candidate &= ~(alignment - 1);
                if (candidate < r.start() || candidate < minimum) {
                    break;
                }
                long last = candidate + size - 1;
                if (placedAt >= 0 && last >= placedAt && candidate <= placedAt + placedSize - 1) {
                    candidate -= PAGE;
                    continue;
                }
                return candidate;
            }
        }
        return -1;
    }
}
