package dev.kdirect.contract;

import static dev.kdirect.contract.ContractKernels.assertErrno;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Binding;
import dev.kdirect.Errno;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.MapFlags;
import dev.kdirect.Prot;
import dev.kdirect.testing.RequiresRealKernel;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Each key's own two bits of PKRU, and the edges of the key range, on every binding (the real kernel where PKU is
 * real gives the expected values). Complements {@link PkeySyscallContractTest}.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Binding.class)
@RequiresRealKernel
class PkeyRightsContractTest {
    private static final int DISABLE_ACCESS = 1;
    private static final int DISABLE_WRITE = 2;
    /** x86-64 has 16 keys, 0..15 (arch_max_pkey(), arch/x86/include/asm/pkeys.h). */
    private static final int KEYS = 16;

    @Parameter
    Binding binding;

    Kernel kernel;
    final List<Integer> keys = new ArrayList<>();

    @BeforeEach
    void setUp() {
        kernel = ContractKernels.kernel(binding, Feature.PKEYS);
    }

    @AfterEach
    void freeKeys() throws KernelException {
        for (int key : keys) {
            kernel.pkeyFree(key);
        }
    }

    @Test
    void everyKeyHasItsOwnRightsInPkru() throws KernelException {
        // PKRU holds two bits per key at bit 2 * key (arch/x86/include/asm/pkru.h, PKRU_BITS_PER_PKEY): setting
        // one key's rights leaves every other key's as it was.
        int[] rights = {0, DISABLE_WRITE, DISABLE_ACCESS, DISABLE_ACCESS | DISABLE_WRITE};
        for (int i = 0; i < 4; i++) {
            keys.add(kernel.pkeyAlloc(0, rights[i]));
        }
        for (int i = 0; i < 4; i++) {
            assertThat(kernel.pkeyGet(keys.get(i))).as("key %d", keys.get(i)).isEqualTo(rights[i]);
        }
        kernel.pkeySet(keys.get(2), DISABLE_WRITE);
        assertThat(kernel.pkeyGet(keys.get(2))).isEqualTo(DISABLE_WRITE);
        for (int i : new int[] {0, 1, 3}) {
            assertThat(kernel.pkeyGet(keys.get(i))).as("key %d", keys.get(i)).isEqualTo(rights[i]);
        }
    }

    @Test
    void getAndSetTakeKeysZeroToFifteenOnly() throws KernelException {
        // glibc's pkey_get and pkey_set (sysdeps/unix/sysv/linux/x86/pkey_get.c, pkey_set.c): key < 0 or >= 16
        // is EINVAL, whether allocated or not; inside the range they only read and write PKRU.
        assertErrno(Errno.EINVAL, () -> kernel.pkeyGet(KEYS));
        assertErrno(Errno.EINVAL, () -> kernel.pkeySet(KEYS, 0));
        assertErrno(Errno.EINVAL, () -> kernel.pkeyGet(-1));
        for (int key : new int[] {0, KEYS - 1}) {
            int rights = kernel.pkeyGet(key);
            kernel.pkeySet(key, rights);
            assertThat(kernel.pkeyGet(key)).as("key %d", key).isEqualTo(rights);
        }
    }

    @Test
    void keyZeroIsAllocatedFromTheStart() throws KernelException {
        // mm_pkey_is_allocated (arch/x86/include/asm/pkeys.h): key 0 is in the allocation map from mm creation,
        // so pkey_mprotect takes it; key 16 is out of range (EINVAL).
        long page = kernel.pageSize();
        MemorySegment mapping = kernel.mmap(MemorySegment.NULL, page, Prot.READ_WRITE,
                MapFlags.PRIVATE | MapFlags.ANONYMOUS, -1, 0);
        try {
            kernel.pkeyMprotect(mapping, page, Prot.READ_WRITE, 0);
            assertErrno(Errno.EINVAL, () -> kernel.pkeyMprotect(mapping, page, Prot.READ_WRITE, KEYS));
        } finally {
            kernel.munmap(mapping, page);
        }
    }
}
