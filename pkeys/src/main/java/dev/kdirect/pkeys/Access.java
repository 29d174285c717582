package dev.kdirect.pkeys;

/**
 * What a thread may do with memory tagged by a key, as the two PKRU bits of that key encode it
 * (include/uapi/asm-generic/mman-common.h: PKEY_DISABLE_ACCESS 1, PKEY_DISABLE_WRITE 2).
 */
public enum Access {
    /** Neither read nor write: PKEY_DISABLE_ACCESS. */
    NONE(1),
    /** Read only: PKEY_DISABLE_WRITE. */
    READ(2),
    /** Read and write: no bit set. */
    READ_WRITE(0);

    private final int rights;

    Access(int rights) {
        this.rights = rights;
    }

    /** The rights bits for pkey_alloc and pkey_set. */
    public int rights() {
        return rights;
    }

    /** The access that PKRU rights bits grant; DISABLE_ACCESS wins over DISABLE_WRITE, as in the hardware. */
    public static Access ofRights(int rights) {
        if ((rights & NONE.rights) != 0) {
            return NONE;
        }
        return (rights & READ.rights) != 0 ? READ : READ_WRITE;
    }

    /** True when this access allows everything {@code wanted} allows. */
    public boolean allows(Access wanted) {
        return ordinal() >= wanted.ordinal();
    }
}
