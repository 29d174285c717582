package dev.kdirect.backend.simulated;

import dev.kdirect.Errno;
/**
 * The x86-64 protection-key model: 16 keys in the mm's allocation map (key 0 set from the start, as
 * mm_pkey_allocation_map is initialised in arch/x86/include/asm/mmu_context.h) and a PKRU register per thread.
 *
 * <p>PKRU is per thread and inherited at thread creation, like the register at clone(); a thread that never
 * ran pkey code starts with the init value 0x55555554 (access disabled for keys 1..15,
 * arch/x86/kernel/fpu/xstate.c). pkey_alloc writes the new key's rights into the CALLING thread only.
 */
final class ProtectionKeys {
    static final int KEYS = 16;
    static final int INIT_PKRU = 0x55555554;
    static final int DISABLE_ACCESS = 0x1;
    static final int DISABLE_WRITE = 0x2;
    static final int ACCESS_MASK = DISABLE_ACCESS | DISABLE_WRITE;

    private int allocationMap = 1;
    /** mm->context.execute_only_pkey: -1 until a PROT_EXEC-only mapping took one, then that key for good. */
    private int executeOnlyKey = -1;

    // InheritableThreadLocal copies the creator's value when a Thread is constructed: the model of clone().
    private final InheritableThreadLocal<int[]> pkru = new InheritableThreadLocal<>() {
        @Override
        protected int[] initialValue() {
            return new int[] {INIT_PKRU};
        }

        @Override
        protected int[] childValue(int[] parent) {
            return new int[] {parent[0]};
        }
    };

    /** pkey_alloc (mm/mprotect.c): flags, then rights, then a free key, then the caller's PKRU. */
    synchronized int allocate(int flags, int rights) {
        if (flags != 0 || (rights & ~ACCESS_MASK) != 0) {
            return -Errno.EINVAL.value();
        }
        int key = Integer.numberOfTrailingZeros(~allocationMap);
        if (key >= KEYS) {
            return -Errno.ENOSPC.value();
        }
        allocationMap |= 1 << key;
        setRights(key, rights);
        return key;
    }

    /** Damage: every free key is taken (by code the test does not see); returns how many were free. */
    synchronized int exhaust() {
        int free = KEYS - Integer.bitCount(allocationMap);
        allocationMap = (1 << KEYS) - 1;
        return free;
    }

    /** pkey_free: only an allocated key may be freed; pages still tagged with it are not checked. */
    synchronized int free(int key) {
        if (!isAllocated(key)) {
            return -Errno.EINVAL.value();
        }
        allocationMap &= ~(1 << key);
        return 0;
    }

    /**
     * mm_pkey_is_allocated (arch/x86/include/asm/pkeys.h, 6.1 as 6.12): the execute-only key is in the allocation
     * map but not allocated as far as pkey_free and pkey_mprotect are concerned.
     */
    synchronized boolean isAllocated(int key) {
        return key >= 0 && key < KEYS && key != executeOnlyKey && (allocationMap & (1 << key)) != 0;
    }

    /**
     * __execute_only_pkey (arch/x86/mm/pkeys.c, 6.1 as 6.12), for an mmap or mprotect with exactly PROT_EXEC: the
     * first call takes the lowest free key for the process for good (-1 when none is free); every call then denies
     * the calling thread access to it in its PKRU, unless access is denied there already (and not on the first call).
     */
    synchronized int executeOnlyKey() {
        int key = executeOnlyKey;
        boolean first = key == -1;
        if (first) {
            key = Integer.numberOfTrailingZeros(~allocationMap);
            if (key >= KEYS) {
                return -1;
            }
            allocationMap |= 1 << key;
        }
        if (!first && (pkru() & (DISABLE_ACCESS << (2 * key))) != 0) {
            return key;
        }
        setRights(key, DISABLE_ACCESS); // arch_set_user_pkey_access: access disabled, write-disable cleared
        executeOnlyKey = key;
        return key;
    }

    /** vma_is_pkey_exec_only's key test: whether {@code key} is the execute-only key. */
    synchronized boolean isExecuteOnlyKey(int key) {
        return key == executeOnlyKey;
    }

    /** glibc's pkey_get (sysdeps/unix/sysv/linux/x86/pkey_get.c): only the key range is checked. */
    int get(int key) {
        if (key < 0 || key >= KEYS) {
            return -Errno.EINVAL.value();
        }
        return (pkru() >>> (2 * key)) & ACCESS_MASK;
    }

    /** glibc's pkey_set: key range and rights (unsigned, so negative rights fail too), then WRPKRU. */
    int set(int key, int rights) {
        if (key < 0 || key >= KEYS || Integer.compareUnsigned(rights, ACCESS_MASK) > 0) {
            return -Errno.EINVAL.value();
        }
        setRights(key, rights);
        return 0;
    }

    /** The calling thread's PKRU. */
    int pkru() {
        return pkru.get()[0];
    }

    /** WRPKRU for the calling thread. */
    void setPkru(int value) {
        pkru.get()[0] = value;
    }

    private void setRights(int key, int rights) {
        int shift = 2 * key;
        setPkru((pkru() & ~(ACCESS_MASK << shift)) | (rights << shift));
    }
}
