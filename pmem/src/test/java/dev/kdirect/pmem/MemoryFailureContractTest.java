package dev.kdirect.pmem;

import static dev.kdirect.contract.ContractKernels.assertErrno;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.kdirect.Binding;
import dev.kdirect.Credentials;
import dev.kdirect.Errno;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.Kernels;
import dev.kdirect.MapFlags;
import dev.kdirect.Prot;
import dev.kdirect.contract.ContractKernels;
import dev.kdirect.pmem.MemoryFailure.Kind;
import dev.kdirect.testing.RequiresRealKernel;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link MemoryFailure} on every binding: injection into written and untouched anonymous pages, detection on access
 * as a {@link PoisonedPageException} naming the page (the JVM lives on), listing, SOFT_OFFLINE, bad input. Real in
 * the QEMU guest (root, CONFIG_MEMORY_FAILURE); the host's kernel lacks memory-failure support, so there only the
 * simulated kernel runs. The tests poison frames of the machine for good.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Binding.class)
@RequiresRealKernel
class MemoryFailureContractTest {
    private static final int ANON_PRIVATE = MapFlags.PRIVATE | MapFlags.ANONYMOUS;

    @Parameter
    Binding binding;

    Kernel kernel;
    MemoryFailure failures;
    long page;
    MemorySegment region;

    @BeforeEach
    void setUp() throws Exception {
        kernel = ContractKernels.kernel(binding, Feature.MEMORY_FAILURE);
        failures = MemoryFailure.on(kernel);
        page = kernel.pageSize();
        region = kernel.mmap(MemorySegment.NULL, 4 * page, Prot.READ_WRITE, ANON_PRIVATE, -1, 0);
        for (long i = 0; i < 4 * page; i += Long.BYTES) {
            region.set(JAVA_LONG, i, i * 31 + 7);
        }
    }

    @AfterEach
    void tearDown() throws Exception {
        if (region != null) {
            kernel.munmap(region, region.byteSize());
        }
    }

    private long sum(MemorySegment m) {
        long s = 0;
        for (long i = 0; i < m.byteSize(); i += Long.BYTES) {
            s += m.get(JAVA_LONG, i);
        }
        return s;
    }

    @Test
    void anInjectedPageIsDetectedOnAccessAsAPoisonedPageExceptionNamingThePage() throws Exception {
        long before = sum(region.asSlice(0, 2 * page));
        failures.inject(region.asSlice(2 * page, page), Kind.HWPOISON);

        PoisonedPageException e = catchThrowableOfType(PoisonedPageException.class,
                () -> failures.guard(region, () -> sum(region)));
        assertThat(e).isNotNull();
        assertThat(e.address()).isEqualTo(region.address() + 2 * page);
        assertThat(e.offset()).isEqualTo(2 * page);
        assertThat(e.poisonedPages()).hasSize(1);
        assertThat(e.binding()).isEqualTo(binding);
        assertThat(e.getMessage()).contains("0x" + Long.toHexString(region.address() + 2 * page))
                .contains("offset " + 2 * page).contains("Discard");
        if (binding.isReal()) {
            assertThat(e.getCause()).isInstanceOf(InternalError.class);
            assertThat(e.page().pfn()).as("root in the guest: frame from pagemap").isPositive();
        } else {
            assertThat(e.getCause()).isNull();
            assertThat(e.page().pfn()).isEqualTo(-1);
        }
        // the JVM lives, and the other pages are intact
        assertThat(failures.guard(region.asSlice(0, 2 * page), () -> sum(region.asSlice(0, 2 * page))))
                .isEqualTo(before);
    }

    @Test
    void aPoisonedPageIsDetectedOnWritesToo() throws Exception {
        failures.inject(region.asSlice(page, page), Kind.HWPOISON);
        PoisonedPageException e = catchThrowableOfType(PoisonedPageException.class,
                () -> failures.guard(region, () -> {
                    region.set(JAVA_LONG, page + 64, 1L);
                    return null;
                }));
        assertThat(e).isNotNull();
        assertThat(e.offset()).isEqualTo(page);
    }

    @Test
    void poisonedPagesAreListed() throws Exception {
        assertThat(failures.poisonedPages(region)).isEmpty();
        failures.inject(region.asSlice(3 * page, page), Kind.HWPOISON);
        failures.inject(region.asSlice(page, page), Kind.HWPOISON);
        List<PoisonedPage> listed = failures.poisonedPages(region);
        assertThat(listed).extracting(PoisonedPage::offset).containsExactly(page, 3 * page);
        assertThat(listed).extracting(PoisonedPage::address)
                .containsExactly(region.address() + page, region.address() + 3 * page);
        assertThat(failures.poisonedPages(region, false)).extracting(PoisonedPage::address)
                .as("probing with MADV_POPULATE_READ agrees with pagemap and kpageflags")
                .containsExactly(region.address() + page, region.address() + 3 * page);
        if (binding.isReal()) {
            assertThat(listed).allSatisfy(p -> assertThat(p.pfn()).isPositive());
        }
        assertThat(failures.poisonedPages(region.asSlice(2 * page, page))).isEmpty();
        assertThat(failures.poisonedPages(region.asSlice(0, 0))).isEmpty();
        PoisonedPage inside = failures.poisonedPages(region.asSlice(page + 100, 200)).getFirst();
        assertThat(inside.address()).isEqualTo(region.address() + page);
        assertThat(inside.offset()).as("the slice begins inside the page").isZero();
    }

    @Test
    void pagesNeverWrittenAreWriteFaultedFirstSoTheZeroPageIsNotHit() throws Exception {
        MemorySegment fresh = kernel.mmap(MemorySegment.NULL, 2 * page, Prot.READ_WRITE, ANON_PRIVATE, -1, 0);
        try {
            fresh.get(JAVA_LONG, 0); // a read maps the zero page
            failures.inject(fresh, Kind.HWPOISON);
            assertThat(failures.poisonedPages(fresh)).extracting(PoisonedPage::offset).containsExactly(0L, page);
        } finally {
            kernel.munmap(fresh, 2 * page);
        }
    }

    @Test
    void softOfflineKeepsTheDataAndPoisonsNothingTheProcessSees() throws Exception {
        long before = sum(region);
        failures.inject(region, Kind.SOFT_OFFLINE);
        assertThat(failures.guard(region, () -> sum(region))).isEqualTo(before);
        assertThat(failures.poisonedPages(region)).isEmpty();
    }

    @Test
    void badInputIsRefusedClearly() throws Exception {
        assertThatThrownBy(() -> failures.inject(region.asSlice(0, 0), Kind.HWPOISON))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("empty");
        assertThatThrownBy(() -> failures.inject(region.asSlice(0, page + 8), Kind.HWPOISON))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("whole pages");
        assertThatThrownBy(() -> failures.inject(MemorySegment.ofArray(new byte[(int) page]), Kind.HWPOISON))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("heap");
        assertThat(assertErrno(Errno.EINVAL, () -> failures.inject(region.asSlice(8, page), Kind.HWPOISON)).hint())
                .contains("page aligned");
        kernel.munmap(region.asSlice(3 * page), page);
        assertThat(assertErrno(Errno.ENOMEM, () -> failures.inject(region.asSlice(2 * page, 2 * page), Kind.HWPOISON))
                .hint()).contains("not mapped");
        failures.inject(region.asSlice(0, page), Kind.HWPOISON);
        assertThat(assertErrno(Errno.EHWPOISON, () -> failures.inject(region.asSlice(0, page), Kind.HWPOISON)).hint())
                .contains("poisoned already");
        kernel.mprotect(region.asSlice(page), page, Prot.READ);
        assertThat(assertErrno(Errno.EINVAL, () -> failures.inject(region.asSlice(page, page), Kind.SOFT_OFFLINE))
                .hint()).contains("writable");
        assertThat(failures.poisonedPages(region.asSlice(page, 2 * page))).isEmpty();
    }

    @Test
    void withoutCapSysAdminInjectionIsEperm() throws Exception {
        if (binding.isReal()) {
            return; // the guest runs as root: the real EPERM is the probe's evidence (FeatureProbesTest)
        }
        Kernel user = Kernels.newSimulated(Credentials.user(1000), List.of());
        MemorySegment m = user.mmap(MemorySegment.NULL, page, Prot.READ_WRITE, ANON_PRIVATE, -1, 0);
        KernelException e = assertErrno(Errno.EPERM, () -> MemoryFailure.on(user).inject(m, Kind.HWPOISON));
        assertThat(e.hint()).contains("CAP_SYS_ADMIN");
    }

    @Test
    void theGuardPassesResultsAndExceptionsThrough() throws Exception {
        assertThat(failures.guard(region, () -> region.get(JAVA_LONG, 8))).isEqualTo(8 * 31 + 7L);
        assertThatThrownBy(() -> failures.guard(region, () -> {
            throw new java.io.IOException("the access's own");
        })).isInstanceOf(java.io.IOException.class).hasMessage("the access's own");
    }

    @Test
    void onTheSimulatedKernelTheGuardChecksTheModelBeforeTheAccess() throws Exception {
        failures.inject(region.asSlice(3 * page, page), Kind.HWPOISON);
        AtomicInteger runs = new AtomicInteger();
        assertThat(failures.guard(region.asSlice(0, page), () -> runs.incrementAndGet())).isEqualTo(1);
        PoisonedPageException e = catchThrowableOfType(PoisonedPageException.class,
                () -> failures.guard(region, () -> {
                    runs.incrementAndGet();
                    return region.get(JAVA_LONG, 3 * page);
                }));
        assertThat(e.offset()).isEqualTo(3 * page);
        assertThat(runs.get()).as("the access ran on the real kernel only").isEqualTo(binding.isReal() ? 2 : 1);
    }

    @Test
    void theDebugfsRouteInjectsByFrameNumber() throws Exception {
        if (!binding.isReal()) {
            assertThatThrownBy(() -> failures.injectThroughDebugfs(region.asSlice(0, page)))
                    .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("physical frames");
            return;
        }
        failures.injectThroughDebugfs(region.asSlice(page, page));
        PoisonedPageException e = catchThrowableOfType(PoisonedPageException.class,
                () -> failures.guard(region, () -> sum(region)));
        assertThat(e).isNotNull();
        assertThat(e.offset()).isEqualTo(page);
        assertThat(e.getCause()).isInstanceOf(InternalError.class);
    }
}
