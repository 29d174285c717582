package dev.kdirect.backend.simulated;

/**
 * madvise_behavior_valid (mm/madvise.c) for the modelled kernel: an x86-64 kernel with KSM, transparent huge
 * pages and memory-failure support, as Debian builds it. 5, 6 and 7 are unused numbers and stay invalid.
 */
final class SupportedAdvice {
    private SupportedAdvice() {
    }

    static boolean isValid(int advice) {
        return (advice >= 0 && advice <= 4) || (advice >= 8 && advice <= 23) || advice == dev.kdirect.Advice.DONTNEED_LOCKED
                || advice == dev.kdirect.Advice.COLLAPSE || advice == dev.kdirect.Advice.HWPOISON
                || advice == dev.kdirect.Advice.SOFT_OFFLINE;
    }
}
