package dev.kdirect.pmem;

import dev.kdirect.Binding;
import java.util.List;

/**
 * An access guarded by {@link MemoryFailure#guard} reached a poisoned page: its memory failed, the kernel unmapped
 * it, and the data in it is lost. Names the first poisoned page of the guarded segment and lists all of them.
 *
 * <p>Checked, because the only sensible reaction is a recovery the caller must write: the results of the whole
 * guarded operation are void (on the real kernel the faulting load returned garbage, and compiled code may have
 * stored that garbage before the error was raised), and the page must be replaced, e.g. by unmapping it and
 * mapping a fresh one (or MADV_DONTNEED for private anonymous memory), then writing the data again from a copy.
 *
 * <p>On the real kernel the access raised SIGBUS (si_code BUS_MCEERR_AR), which the JDK turned into an
 * {@link InternalError} ("a fault occurred in an unsafe memory access operation"), kept as the cause. On the
 * simulated kernel nothing faults: the guard found the page in the model's poison list before running the access,
 * and the cause is null.
 */
public final class PoisonedPageException extends Exception {
    private static final long serialVersionUID = 1L;

    private final transient List<PoisonedPage> pages;
    private final Binding binding;

    PoisonedPageException(List<PoisonedPage> pages, Binding binding, String how, Throwable cause) {
        super(message(pages, binding, how), cause);
        this.pages = List.copyOf(pages);
        this.binding = binding;
    }

    /** The first poisoned page of the guarded segment. */
    public PoisonedPage page() {
        return pages.getFirst();
    }

    /** The virtual address of the first poisoned page (page aligned). */
    public long address() {
        return page().address();
    }

    /** Where the first poisoned page begins in the guarded segment (0 when the segment begins inside it). */
    public long offset() {
        return page().offset();
    }

    /** Every poisoned page of the guarded segment, in address order. */
    public List<PoisonedPage> poisonedPages() {
        return pages;
    }

    /** The binding of the kernel the guard ran on. */
    public Binding binding() {
        return binding;
    }

    private static String message(List<PoisonedPage> pages, Binding binding, String how) {
        return pages.getFirst() + " is poisoned: a memory failure destroyed its data (" + how + "); "
                + pages.size() + " poisoned page" + (pages.size() == 1 ? "" : "s") + " in the guarded segment, on the "
                + binding.id() + " binding. Discard the results of the whole"
                + " operation, replace the page and write its data again";
    }
}
