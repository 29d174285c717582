/**
 * kdirect pkeys: memory protection keys for JVM services. A {@link dev.kdirect.pkeys.ProtectedRegion} is
 * off-heap memory tagged with a {@link dev.kdirect.pkeys.ProtectionKey}; no thread can touch it until it opens
 * an {@link dev.kdirect.pkeys.AccessWindow}, which changes only that thread's PKRU register (nanoseconds, no
 * syscall) instead of the whole process's page tables (mprotect).
 */
module dev.kdirect.pkeys {
    requires transitive dev.kdirect;

    exports dev.kdirect.pkeys;
}
