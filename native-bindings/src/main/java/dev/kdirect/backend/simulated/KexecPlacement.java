package dev.kdirect.backend.simulated;

import dev.kdirect.Errno;
import dev.kdirect.rules.BzImageRules;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Comparator;
import java.util.List;

/**
 * Where kexec_file_load places the kernel and initrd segments of a bzImage in the simulated machine's memory, and
 * the segment checks after it (Linux 6.1: bzImage64_load in arch/x86/kernel/kexec-bzimage64.c, kexec_add_buffer
 * and kexec_locate_mem_hole in kernel/kexec_file.c, sanity_check_segment_list in kernel/kexec_core.c): the kernel
 * segment is PAGE_ALIGN(init_size) bytes (a 32-bit sum: an init_size past 0xfffff000 wraps to 0) aligned to
 * max(kernel_alignment, PAGE_SIZE), walked top-down through the System RAM ranges from MIN_KERNEL_LOAD_ADDR;
 * none found is EADDRNOTAVAIL; then a segment whose file bytes exceed its memory, or segments over half the
 * memory, are EINVAL. Measured in the QEMU guest (6.1, 3 GiB), whose memory map is the default.
 *
 * <p>Purgatory and the boot parameters are placed first, top-down, at the top of the highest range; the model
 * does not know their exact sizes, only that they take less than {@link #TOP_RESERVE}. Where the answer depends on
 * them (a segment that fits only in that reserve), on a kernel_alignment that is not a power of two (the kernel's
 * ALIGN_DOWN then clears arbitrary bits), or on how much of the memory the kernel manages (a segment near half of
 * it), the model throws UnsupportedOperationException naming the rule: it never guesses.
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
    /** More than purgatory and the boot parameters take at the top of the highest range (tens of KiB). */
    private static final long TOP_RESERVE = 1 << 20;
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
     * @throws UnsupportedOperationException where the kernel's answer depends on what the model does not know
     */
    int place(byte[] kernel, long initrdLength) {
        ByteBuffer b = ByteBuffer.wrap(kernel).order(ByteOrder.LITTLE_ENDIAN);
        int sectors = b.get(SETUP_SECTS) & 0xff;
        long setupBytes = ((sectors == 0 ? 4 : sectors) + 1L) * 512;
        long fileBytes = kernel.length - setupBytes;
        long memsz = (Integer.toUnsignedLong(b.getInt(INIT_SIZE)) + PAGE - 1) & 0xffff_f000L; // u32 PAGE_ALIGN
        long alignment = Math.max(Integer.toUnsignedLong(b.getInt(KERNEL_ALIGNMENT)), PAGE);
        if (Long.bitCount(alignment) != 1) {
            throw new UnsupportedOperationException("kexec_file_load of a bzImage whose kernel_alignment 0x"
                    + Long.toHexString(alignment) + " is not a power of two: where the kernel's top-down walk"
                    + " (ALIGN_DOWN, kexec_locate_mem_hole) puts it depends on the bits it clears and on the other"
                    + " segments' places, which the simulated kernel does not model");
        }
        long kernelAt = placeTopDown(memsz, alignment, MIN_KERNEL_LOAD, "the kernel segment");
        if (kernelAt < 0) {
            return -Errno.EADDRNOTAVAIL.value();
        }
        if (initrdLength > 0) {
            long initrdMemsz = (initrdLength + PAGE - 1) & -PAGE;
            long below = ((kernelAt - initrdMemsz) & -PAGE);
            if (kernelAt < initrdMemsz || below < MIN_INITRD_LOAD) {
                throw new UnsupportedOperationException("kexec_file_load of a " + initrdLength + "-byte initrd"
                        + " that does not fit below the kernel segment: whether the kernel finds room elsewhere is"
                        + " not modelled");
            }
        }
        if (fileBytes > memsz) {
            return -Errno.EINVAL.value(); // sanity_check_segment_list: bufsz > memsz
        }
        long total = memory.stream().mapToLong(Range::size).sum();
        long used = memsz + ((initrdLength + PAGE - 1) & -PAGE) + TOP_RESERVE;
        if (memsz > total / 2) {
            return -Errno.EINVAL.value(); // more than half of totalram_pages, which is at most the RAM's total
        }
        if (used > (total - MANAGED_MARGIN) / 2) {
            throw new UnsupportedOperationException("kexec_file_load of segments of " + used + " bytes, near half"
                    + " of the simulated machine's " + total + " bytes: sanity_check_segment_list compares them with"
                    + " totalram_pages(), the memory the kernel manages, which the simulated kernel does not know");
        }
        return 0;
    }

    /**
     * locate_mem_hole_top_down over the ranges, highest first: the highest {@code alignment}-aligned start whose
     * {@code size} bytes fit in a range above {@code minimum}; -1 when none does.
     */
    private long placeTopDown(long size, long alignment, long minimum, String what) {
        Range highest = memory.stream().max(Comparator.comparingLong(Range::end)).orElseThrow();
        for (Range r : memory.stream().sorted(Comparator.comparingLong(Range::end).reversed()).toList()) {
            long start = Math.max(r.start(), minimum);
            if (r.end() < start || r.end() - start + 1 < size) {
                continue;
            }
            boolean sharesTheTop = r == highest;
            long unreserved = alignedDown(r.end() - (sharesTheTop ? TOP_RESERVE : 0) - size + 1, alignment);
            if (unreserved >= start) {
                return unreserved;
            }
            if (sharesTheTop && alignedDown(r.end() - size + 1, alignment) >= start) {
                throw new UnsupportedOperationException(what + " (" + size + " bytes, aligned to 0x"
                        + Long.toHexString(alignment) + ") fits in the highest RAM range only next to purgatory"
                        + " and the boot parameters, whose exact size the simulated kernel does not model"
                        + " (kimage_is_destination_range)");
            }
        }
        return -1;
    }

    private static long alignedDown(long address, long alignment) {
        return address < 0 ? -1 : address & -alignment;
    }
}
