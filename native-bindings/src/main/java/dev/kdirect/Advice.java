package dev.kdirect;

/** Advice values for {@code madvise} (include/uapi/asm-generic/mman-common.h). */
public final class Advice {
    public static final int NORMAL = 0;
    public static final int RANDOM = 1;
    public static final int SEQUENTIAL = 2;
    public static final int WILLNEED = 3;
    /** Drop the pages: private anonymous memory reads back as zeros afterwards. */
    public static final int DONTNEED = 4;
    public static final int FREE = 8;
    public static final int REMOVE = 9;
    public static final int DONTFORK = 10;
    public static final int DOFORK = 11;
    public static final int MERGEABLE = 12;
    public static final int UNMERGEABLE = 13;
    public static final int HUGEPAGE = 14;
    public static final int NOHUGEPAGE = 15;
    public static final int DONTDUMP = 16;
    public static final int DODUMP = 17;
    public static final int WIPEONFORK = 18;
    public static final int KEEPONFORK = 19;
    public static final int COLD = 20;
    public static final int PAGEOUT = 21;
    /**
     * Fault the pages in for reading, without a signal (Linux 5.14): fails with EHWPOISON at a poisoned page,
     * EINVAL where the pages are not readable. Private anonymous memory never written maps the shared zero page.
     */
    public static final int POPULATE_READ = 22;
    /**
     * Fault the pages in for writing, without changing their data (Linux 5.14): every page gets its own frame (no
     * zero page, no copy-on-write share left). Fails with EHWPOISON at a poisoned page, EINVAL where the pages are
     * not writable.
     */
    public static final int POPULATE_WRITE = 23;
    /** Like {@link #DONTNEED}, also on locked (VM_LOCKED) areas (Linux 5.18). */
    public static final int DONTNEED_LOCKED = 24;
    /** Collapse the range into transparent huge pages synchronously (Linux 6.1). */
    public static final int COLLAPSE = 25;
    /**
     * Inject a hardware memory error into the pages (CAP_SYS_ADMIN, CONFIG_MEMORY_FAILURE): a dirty anonymous page
     * is unmapped and its next access gets SIGBUS (BUS_MCEERR_AR). See {@link Kernel#madvise} for the errors.
     */
    public static final int HWPOISON = 100;
    /** Soft-offline the pages: migrate the data and retire the frames (CAP_SYS_ADMIN, CONFIG_MEMORY_FAILURE). */
    public static final int SOFT_OFFLINE = 101;

    private Advice() {
    }
}
