package dev.kdirect.contract;

import static dev.kdirect.contract.ContractKernels.assertErrno;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Advice;
import dev.kdirect.Binding;
import dev.kdirect.Errno;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.MapFlags;
import dev.kdirect.OpenFlags;
import dev.kdirect.Prot;
import dev.kdirect.testing.RequiresRealKernel;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The protection-key calls (pkey_alloc, pkey_free, pkey_mprotect, pkey_get, pkey_set), bad input included, on
 * every binding: the real kernel through FFM and JNA where PKU is real, and the simulated kernel everywhere, with
 * the same results and errno.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Binding.class)
@RequiresRealKernel
class PkeySyscallContractTest {
    private static final int DISABLE_ACCESS = 1;
    private static final int DISABLE_WRITE = 2;
    private static final int X86_64_ALLOCATABLE_KEYS = 15; // 16 in PKRU, key 0 is the default key

    @Parameter
    Binding binding;

    @TempDir
    Path dir;

    Kernel kernel;
    long page;
    final List<Integer> keys = new ArrayList<>();
    MemorySegment mapping;

    @BeforeEach
    void setUp() throws KernelException {
        kernel = ContractKernels.kernel(binding, Feature.PKEYS);
        page = kernel.pageSize();
        mapping = kernel.mmap(MemorySegment.NULL, 2 * page, Prot.READ_WRITE, MapFlags.PRIVATE | MapFlags.ANONYMOUS,
                -1, 0);
    }

    @AfterEach
    void freeKeys() throws KernelException {
        if (kernel == null) {
            return; // aborted in setUp: PKU is not real here
        }
        kernel.munmap(mapping, 2 * page);
        for (int key : keys) {
            kernel.pkeyFree(key);
        }
    }

    private int allocate(int rights) throws KernelException {
        int key = kernel.pkeyAlloc(0, rights);
        keys.add(key);
        return key;
    }

    private int allocatedThenFreedKey() throws KernelException {
        int key = kernel.pkeyAlloc(0, 0);
        kernel.pkeyFree(key);
        return key;
    }

    /**
     * The scenario's answer (which keys pkey_alloc returns) on this binding. On a real binding it is the expected
     * value, which a fresh simulated process holding the same keys ({@code held}) must give too in this run.
     */
    private <T> T answer(Set<Integer> held, ContractKernels.Scenario<T> scenario) throws Exception {
        if (!binding.isReal()) {
            return scenario.on(kernel);
        }
        Kernel twin = ContractKernels.kernel(Binding.SIMULATED);
        List<Integer> all = new ArrayList<>();
        for (int i = 0; i < X86_64_ALLOCATABLE_KEYS; i++) {
            all.add(twin.pkeyAlloc(0, 0));
        }
        for (int key : all) {
            if (!held.contains(key)) {
                twin.pkeyFree(key);
            }
        }
        return ContractKernels.assertSimulatedAgrees(kernel, twin, scenario);
    }

    /**
     * The keys this process holds (a JVM normally holds none; the simulated process none): those that allocating
     * every free key does not return.
     */
    private Set<Integer> keysHeld() throws KernelException {
        Set<Integer> held = new TreeSet<>();
        for (int key = 1; key <= X86_64_ALLOCATABLE_KEYS; key++) {
            held.add(key);
        }
        held.removeAll(keysUntilExhausted(kernel).free());
        return held;
    }

    private record Exhaustion(List<Integer> free, Errno errno) {
    }

    /** Allocates until pkey_alloc fails: the keys in the order returned and the errno; then frees them again. */
    private static Exhaustion keysUntilExhausted(Kernel k) throws KernelException {
        List<Integer> got = new ArrayList<>();
        Errno errno = null;
        while (errno == null && got.size() <= 16) {
            try {
                got.add(k.pkeyAlloc(0, 0));
            } catch (KernelException e) {
                errno = e.error();
            }
        }
        for (int key : got) {
            k.pkeyFree(key);
        }
        return new Exhaustion(got, errno);
    }

    /** Four keys, the first and third freed (in that order), then three more: every number returned. */
    private static List<Integer> allocationsAroundFreedKeys(Kernel k) throws KernelException {
        List<Integer> got = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            got.add(k.pkeyAlloc(0, 0));
        }
        k.pkeyFree(got.get(0));
        k.pkeyFree(got.get(2));
        for (int i = 0; i < 3; i++) {
            got.add(k.pkeyAlloc(0, 0));
        }
        for (int key : new TreeSet<>(got)) {
            k.pkeyFree(key);
        }
        return got;
    }

    /**
     * mm_pkey_alloc (arch/x86/include/asm/pkeys.h, Linux 6.1) returns ffz() of the mm's allocation map, in which key
     * 0 is set from the start: the LOWEST free key. A process holding no key gets 1, 2, 3, 4; with 1 then 3 freed,
     * 1, 3 and 5 come next, and after 15 keys ENOSPC.
     */
    @Test
    void allocationTakesTheLowestFreeKey() throws Exception {
        Set<Integer> held = keysHeld();
        List<Integer> answer = answer(held, PkeySyscallContractTest::allocationsAroundFreedKeys);
        if (held.isEmpty()) {
            assertThat(answer).isEqualTo(List.of(1, 2, 3, 4, 1, 3, 5));
        }
    }

    @Test
    void allocationRunsOutWithEnospcAfterEveryFreeKeyInAscendingOrder() throws Exception {
        Set<Integer> held = keysHeld();
        Exhaustion answer = answer(held, PkeySyscallContractTest::keysUntilExhausted);
        assertThat(answer.errno()).isEqualTo(Errno.ENOSPC);
        if (held.isEmpty()) {
            assertThat(answer.free()).isEqualTo(IntStream.rangeClosed(1, X86_64_ALLOCATABLE_KEYS).boxed().toList());
        }
    }

    @Test
    void unknownRightsOrFlagsAreEinval() {
        assertErrno(Errno.EINVAL, () -> allocate(4));
        assertErrno(Errno.EINVAL, () -> allocate(-1));
        assertErrno(Errno.EINVAL, () -> keys.add(kernel.pkeyAlloc(1, 0)));
    }

    @Test
    void freeingAKeyThatIsNotAllocatedIsEinval() throws KernelException {
        int freed = allocatedThenFreedKey();
        assertErrno(Errno.EINVAL, () -> kernel.pkeyFree(freed));
        assertErrno(Errno.EINVAL, () -> kernel.pkeyFree(16));
        assertErrno(Errno.EINVAL, () -> kernel.pkeyFree(-1));
    }

    @Test
    void pkeyMprotectTagsWithAnAllocatedKeyOnly() throws KernelException {
        int key = allocate(0);
        kernel.pkeyMprotect(mapping, 2 * page, Prot.READ_WRITE, key);
        kernel.pkeyMprotect(mapping, page, Prot.READ, -1); // -1: plain mprotect, the key stays
        int freed = allocatedThenFreedKey();
        assertErrno(Errno.EINVAL, () -> kernel.pkeyMprotect(mapping, page, Prot.READ_WRITE, freed));
        assertErrno(Errno.EINVAL, () -> kernel.pkeyMprotect(mapping, page, Prot.READ_WRITE, 16));
        assertErrno(Errno.EINVAL, () -> kernel.pkeyMprotect(mapping, page, Prot.READ_WRITE, -2));
    }

    @Test
    void pkeyMprotectChecksAlignmentAndLengthBeforeTheKey() throws KernelException {
        int freed = allocatedThenFreedKey();
        // mm/mprotect.c: a zero length returns 0 before the key is looked at; an unaligned start fails first
        kernel.pkeyMprotect(mapping, 0, Prot.READ_WRITE, freed);
        int key = allocate(0);
        assertErrno(Errno.EINVAL, () -> kernel.pkeyMprotect(mapping.asSlice(1), page, Prot.READ_WRITE, key));
        assertErrno(Errno.EINVAL, () -> kernel.pkeyMprotect(mapping, page, 0x10, key));
    }

    @Test
    void pkeyMprotectOverAHoleIsEnomem() throws KernelException {
        int key = allocate(0);
        kernel.munmap(mapping.asSlice(page), page);
        assertErrno(Errno.ENOMEM, () -> kernel.pkeyMprotect(mapping, 2 * page, Prot.READ_WRITE, key));
    }

    @Test
    void pkeyGetAndSetCheckTheKeyRangeAndRights() throws KernelException {
        int key = allocate(0);
        assertErrno(Errno.EINVAL, () -> kernel.pkeyGet(16));
        assertErrno(Errno.EINVAL, () -> kernel.pkeyGet(-1));
        assertErrno(Errno.EINVAL, () -> kernel.pkeySet(16, 0));
        assertErrno(Errno.EINVAL, () -> kernel.pkeySet(key, 4));
        assertErrno(Errno.EINVAL, () -> kernel.pkeySet(key, -1));
        for (int rights = 3; rights >= 0; rights--) {
            kernel.pkeySet(key, rights);
            assertThat(kernel.pkeyGet(key)).isEqualTo(rights);
        }
    }

    @Test
    void allocationRightsGoOnlyToTheCallingThreadAndThreadsItStartsLater() throws Exception {
        // Leave DISABLE_ACCESS in this thread's PKRU for the key number the next allocation will return.
        int key = kernel.pkeyAlloc(0, DISABLE_ACCESS);
        kernel.pkeyFree(key);
        CountDownLatch allocated = new CountDownLatch(1);
        CompletableFuture<Integer> startedBefore = rightsSeenBy(allocated, key);

        assertThat(allocate(DISABLE_WRITE)).isEqualTo(key);
        assertThat(kernel.pkeyGet(key)).isEqualTo(DISABLE_WRITE);
        CompletableFuture<Integer> startedAfter = rightsSeenBy(null, key);
        allocated.countDown();

        assertThat(startedBefore.get()).as("thread started before pkey_alloc").isEqualTo(DISABLE_ACCESS);
        assertThat(startedAfter.get()).as("thread started after pkey_alloc").isEqualTo(DISABLE_WRITE);
    }

    @Test
    void syscallsCopyingUserMemoryStopAtThePageTheKeyForbids() throws Exception {
        int key = allocate(DISABLE_ACCESS);
        MemorySegment open = mapping.asSlice(0, page);
        MemorySegment guarded = mapping.asSlice(page, page);
        open.fill((byte) 'o');
        guarded.fill((byte) 'g'); // still key 0: plain access
        kernel.pkeyMprotect(guarded, page, Prot.READ_WRITE, key);
        int fd = kernel.open(dir.resolve("out").toString(), OpenFlags.RDWR | OpenFlags.CREAT, 0600);
        try {
            // copy_from_user stops at the guarded page: a short write, then EFAULT for the guarded page alone
            assertThat(kernel.pwrite(fd, mapping, 0)).isEqualTo(page);
            assertErrno(Errno.EFAULT, () -> kernel.pwrite(fd, guarded, page));
            // copy_to_user likewise, for a read of two pages of file data into the same buffer
            assertThat(kernel.pwrite(fd, open, page)).isEqualTo(page);
            assertThat(kernel.pread(fd, mapping, 0)).isEqualTo(page);
            assertErrno(Errno.EFAULT, () -> kernel.pread(fd, guarded, 0));
            // with the key's access granted to this thread, the same calls go through whole
            kernel.pkeySet(key, 0);
            assertThat(kernel.pwrite(fd, mapping, 0)).isEqualTo(2 * page);
            assertThat(kernel.pread(fd, mapping, 0)).isEqualTo(2 * page);
            assertThat(guarded.get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 'g');
        } finally {
            kernel.close(fd);
        }
    }

    @Test
    void populatingAPageTheKeyForbidsIsEinval() throws Exception {
        // madvise_populate: check_vma_flags (mm/gup.c) asks arch_vma_access_permitted, which checks the area's key
        // against the calling thread's PKRU; its failure is the EINVAL of an incompatible mapping
        int key = allocate(DISABLE_WRITE);
        MemorySegment guarded = mapping.asSlice(page, page);
        kernel.pkeyMprotect(guarded, page, Prot.READ_WRITE, key);
        kernel.madvise(guarded, page, Advice.POPULATE_READ);
        assertErrno(Errno.EINVAL, () -> kernel.madvise(guarded, page, Advice.POPULATE_WRITE));
        assertErrno(Errno.EINVAL, () -> kernel.madvise(mapping, 2 * page, Advice.POPULATE_WRITE));
        kernel.pkeySet(key, DISABLE_ACCESS);
        assertErrno(Errno.EINVAL, () -> kernel.madvise(guarded, page, Advice.POPULATE_READ));
        kernel.pkeySet(key, 0);
        kernel.madvise(mapping, 2 * page, Advice.POPULATE_WRITE);
    }

    /** Starts a platform thread now that reads its rights for {@code key} once {@code go} opens. */
    private CompletableFuture<Integer> rightsSeenBy(CountDownLatch go, int key) {
        CompletableFuture<Integer> seen = new CompletableFuture<>();
        Thread.ofPlatform().start(() -> {
            try {
                if (go != null) {
                    go.await();
                }
                seen.complete(kernel.pkeyGet(key));
            } catch (Throwable t) {
                seen.completeExceptionally(t);
            }
        });
        return seen;
    }
}
