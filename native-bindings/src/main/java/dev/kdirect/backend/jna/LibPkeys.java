package dev.kdirect.backend.jna;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Platform;

/**
 * glibc's protection-key functions (glibc 2.27 and later), bound apart from {@link LibC}: JNA's registration of a
 * class fails when any of its functions is missing, and an older glibc must disable pkeys only.
 */
final class LibPkeys {
    static {
        Native.register(LibPkeys.class, Platform.C_LIBRARY_NAME);
    }

    private LibPkeys() {
    }

    static native int pkey_alloc(int flags, int accessRights) throws LastErrorException;

    static native int pkey_free(int pkey) throws LastErrorException;

    static native int pkey_mprotect(long address, long length, int prot, int pkey) throws LastErrorException;

    // glibc sets errno only for bad arguments (EINVAL); no LastErrorException, so no errno read on success.
    static native int pkey_get(int pkey);

    static native int pkey_set(int pkey, int accessRights);
}
