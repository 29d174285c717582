package dev.kdirect.backend.simulated;

import dev.kdirect.Errno;
import dev.kdirect.KernelRelease;
import dev.kdirect.rules.BzImageRules;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Where kexec_file_load places the segments of a bzImage in the simulated machine's memory, and the segment checks
 * after it (bzImage64_load in arch/x86/kernel/kexec-bzimage64.c, kexec_add_buffer, kexec_walk_resources and
 * locate_mem_hole_top_down in kernel/kexec_file.c, sanity_check_segment_list in kernel/kexec_core.c), as the
 * release it is given does it: 6.1, or 6.12 and later; any other release throws UnsupportedOperationException.
 *
 * <p>6.1 walks the System RAM ranges bottom-up (walk_system_ram_res) and each range top-down, so purgatory (from
 * 0x3000) and the boot parameters (from 0x1000) land at the top of the low range below 640 KiB, and the kernel
 * segment (from MIN_KERNEL_LOAD_ADDR, 1 MiB) and the initrd (from MIN_INITRD_LOAD_ADDR, 16 MiB) in the high range,
 * where nothing else lies. The kernel segment is PAGE_ALIGN(init_size) bytes (a 32-bit sum: an init_size past
 * 0xfffff000 wraps to 0); its first candidate is {@code end - memsz} (one byte below the top: 6.1's off-by-one,
 * fixed in 6.8 by "kexec_file: fix incorrect temp_start value") masked with
 * {@code ~(max(kernel_alignment, PAGE_SIZE) - 1)}, exactly as the kernel masks, so an alignment that is no power of
 * two clears arbitrary bits and may leave the segment off a page boundary, which sanity_check_segment_list refuses
 * with EADDRNOTAVAIL.
 *
 * <p>6.12 walks the ranges top-down too (walk_system_ram_res_rev for a top_down buffer, since 6.10), so purgatory
 * and the boot parameters take the top of the high range and the kernel segment and the initrd go below them,
 * stepping down a page at a time past them. Its first candidate is {@code end - memsz + 1}, a page boundary, which
 * masking keeps on one: every kernel_alignment gives an aligned segment. Its bzImage64_load uses the header's
 * pref_address (0x258) as the kernel segment's minimum where it is above 1 MiB (not in 6.1's source), so a
 * pref_address above the memory leaves no hole (EADDRNOTAVAIL). Purgatory's size is not modelled: the model places
 * the segments with the least (2 pages) and the most (1 MiB and the command line) that purgatory and the boot
 * parameters may take, and throws where the two answers differ. Releases after 6.12 follow 6.12: the current
 * source has the same walk and the same minimum, and its kexec_alloc_contig finds no CMA area in the simulated
 * machine.
 *
 * <p>Then, on both: no hole is EADDRNOTAVAIL; a segment whose file bytes exceed its memory, or segments over half
 * the memory, are EINVAL. Measured in the QEMU guest (6.1 and 6.12.95, 3 GiB), whose memory map is the default.
 *
 * <p>Where the answer depends on what the model does not know, it throws UnsupportedOperationException naming the
 * rule: on 6.1 boot parameters too big for the low range (a command line of hundreds of KiB), or segments near half
 * of the memory (sanity_check_segment_list compares them with totalram_pages(), the memory the kernel manages).
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

    private static final long PAGE = SimulatedBackend.PAGE_SIZE;
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

    /** The least purgatory and the boot parameters take: a page each (boot_params alone is 4096 bytes). */
    private static final long LEAST_TOP_SEGMENTS = 2 * PAGE;

    private final List<Range> memory;
    private final KernelRelease release;

    KexecPlacement(List<Range> memory, KernelRelease release) {
        this.memory = List.copyOf(memory);
        this.release = release;
    }

    /**
     * 0 when the segments of this image (and initrd) are placed and pass the checks, else -errno.
     *
     * @param commandLineLength the command line's length with its NUL: it goes into the boot parameters' segment
     * @throws UnsupportedOperationException where the kernel's answer depends on what the model does not know
     */
    int place(byte[] kernel, long initrdLength, long commandLineLength) {
        ByteBuffer b = ByteBuffer.wrap(kernel).order(ByteOrder.LITTLE_ENDIAN);
        int sectors = b.get(SETUP_SECTS) & 0xff;
        long setupBytes = ((sectors == 0 ? 4 : sectors) + 1L) * 512;
        long fileBytes = kernel.length - setupBytes;
        long memsz = (Integer.toUnsignedLong(b.getInt(INIT_SIZE)) + PAGE - 1) & 0xffff_f000L; // u32 PAGE_ALIGN
        long alignment = Math.max(Integer.toUnsignedLong(b.getInt(KERNEL_ALIGNMENT)), PAGE); // kexec_add_buffer
        long initrdMemsz = (initrdLength + PAGE - 1) & -PAGE;
        if (release.major() == 6 && release.minor() == 1) {
            if (commandLineLength + 4096 + 64 > LOW_PARAMETERS) {
                throw new UnsupportedOperationException("kexec_file_load with a command line of "
                        + commandLineLength + " bytes: whether the boot parameters still fit in the low RAM range"
                        + " beside purgatory (kexec_locate_mem_hole) depends on purgatory's size, which the"
                        + " simulated kernel does not model");
            }
            // purgatory and the boot parameters lie in the low range, below every segment placed here
            long kernelAt = placeTopDown(memsz, alignment, MIN_KERNEL_LOAD, true, List.of());
            if (kernelAt < 0) {
                return -Errno.EADDRNOTAVAIL.value();
            }
            if (initrdLength > 0 && placeTopDown(initrdMemsz, PAGE, MIN_INITRD_LOAD, true,
                    List.of(new Range(kernelAt, kernelAt + memsz - 1))) < 0) {
                return -Errno.EADDRNOTAVAIL.value();
            }
            return check(kernelAt, memsz, fileBytes, initrdMemsz);
        }
        if (!release.atLeast(6, 12)) {
            throw new UnsupportedOperationException("kexec_file_load's segment placement on " + release + ": the"
                    + " simulated kernel follows 6.1's (ranges bottom-up, the off-by-one fixed in 6.8) and 6.12's"
                    + " (ranges top-down since 6.10, pref_address as the kernel's minimum), not the releases between"
                    + " or before them");
        }
        // bzImage64_load (6.12): buf_min is pref_address unless that is below MIN_KERNEL_LOAD_ADDR
        long prefAddress = b.getLong(BzImageRules.PREF_ADDRESS);
        long minimum = Long.compareUnsigned(prefAddress, MIN_KERNEL_LOAD) < 0 ? MIN_KERNEL_LOAD : prefAddress;
        long mostTop = SMALL_SEGMENTS + commandLineLength + PAGE;
        int least = place612(memsz, alignment, minimum, initrdLength, initrdMemsz, fileBytes, LEAST_TOP_SEGMENTS);
        int most = place612(memsz, alignment, minimum, initrdLength, initrdMemsz, fileBytes, mostTop);
        if (least != most) {
            throw new UnsupportedOperationException("kexec_file_load on " + release + " of a kernel segment of "
                    + memsz + " bytes aligned to 0x" + Long.toHexString(alignment) + (initrdLength > 0
                    ? " and an initrd of " + initrdLength + " bytes" : "") + ": whether the segments fit below"
                    + " purgatory and the boot parameters at the top of memory (locate_mem_hole_top_down) depends"
                    + " on purgatory's size, which the simulated kernel does not model");
        }
        return least;
    }

    /** 6.12's placement with purgatory and the boot parameters taking {@code topBytes} at the top of memory. */
    private int place612(long memsz, long alignment, long minimum, long initrdLength, long initrdMemsz,
            long fileBytes, long topBytes) {
        Range top = memory.stream().max(Comparator.comparingLong(Range::start)).orElseThrow();
        List<Range> placed = new ArrayList<>(List.of(new Range(top.end() + 1 - topBytes, top.end())));
        long kernelAt = placeTopDown(memsz, alignment, minimum, false, placed);
        if (kernelAt < 0) {
            return -Errno.EADDRNOTAVAIL.value();
        }
        placed.add(new Range(kernelAt, kernelAt + memsz - 1));
        if (initrdLength > 0 && placeTopDown(initrdMemsz, PAGE, MIN_INITRD_LOAD, false, placed) < 0) {
            return -Errno.EADDRNOTAVAIL.value();
        }
        return check(kernelAt, memsz, fileBytes, initrdMemsz);
    }

    /** sanity_check_segment_list's checks of the placed segments (kernel/kexec_core.c, 6.1 and 6.12). */
    private int check(long kernelAt, long memsz, long fileBytes, long initrdMemsz) {
        if ((kernelAt & (PAGE - 1)) != 0) {
            return -Errno.EADDRNOTAVAIL.value(); // mstart or mend not page aligned
        }
        if (fileBytes > memsz) {
            return -Errno.EINVAL.value(); // bufsz > memsz
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
     * kexec_walk_resources with locate_mem_hole_callback and locate_mem_hole_top_down: the ranges bottom-up on 6.1
     * ({@code offByOne}), top-down from 6.10, skipping one smaller than {@code size} or ending below {@code minimum}
     * (unsigned, as the kernel's unsigned long); in a range the candidate {@code end - size} (6.1) or
     * {@code end - size + 1} masked with {@code ~(alignment - 1)}, moved down a page at a time (then masked again)
     * while it overlaps a segment already placed (kimage_is_destination_range); the first that starts in the range
     * and at or above {@code minimum} wins. -1 when none does.
     */
    private long placeTopDown(long size, long alignment, long minimum, boolean offByOne, List<Range> placed) {
        Comparator<Range> order = Comparator.comparingLong(Range::start);
        for (Range r : memory.stream().sorted(offByOne ? order : order.reversed()).toList()) {
            if (r.size() < size || Long.compareUnsigned(r.end(), minimum) < 0) {
                continue;
            }
            long candidate = offByOne ? r.end() - size : r.end() - size + 1;
            while (true) {
                candidate &= ~(alignment - 1);
                if (candidate < r.start() || Long.compareUnsigned(candidate, minimum) < 0) {
                    break;
                }
                long first = candidate;
                long last = candidate + size - 1;
                if (placed.stream().anyMatch(p -> last >= p.start() && first <= p.end())) {
                    candidate -= PAGE;
                    continue;
                }
                return candidate;
            }
        }
        return -1;
    }
}
