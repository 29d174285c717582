package dev.kdirect.backend;

import dev.kdirect.Feature;
import dev.kdirect.FeatureStatus;
import dev.kdirect.FeatureUnavailableException;

/**
 * What calling a native function the host's libraries lack throws, in every real backend: the unavailability of
 * the feature it belongs to, so one absent function (pkey_alloc before glibc 2.27, libpmem not installed)
 * disables that feature only and never the backend.
 */
public final class MissingFunction {
    /** PMDK's libpmem, for the cache-line write-back of DAX pmem. */
    public static final String LIBPMEM = "libpmem.so.1";

    private MissingFunction() {
    }

    /** A glibc function: pkey_* belong to {@link Feature#PKEYS}; any other fails naming itself. */
    public static RuntimeException inLibc(String name) {
        String evidence = "glibc has no function " + name;
        String action = "use glibc 2.27 or later (kdirect links glibc's wrappers)";
        if (name.startsWith("pkey_")) {
            return new FeatureUnavailableException(FeatureStatus.missing(Feature.PKEYS, evidence, action, null));
        }
        return new UnsupportedOperationException(evidence + ": " + action);
    }

    /**
     * A libpmem function: {@link Feature#DAX_PMEM}'s cache-line write-back.
     *
     * @param libraryInstalled false when libpmem itself could not be loaded
     */
    public static FeatureUnavailableException inLibpmem(String name, boolean libraryInstalled) {
        String evidence = libraryInstalled ? LIBPMEM + " has no " + name : "PMDK's " + LIBPMEM + " is not installed";
        return new FeatureUnavailableException(FeatureStatus.missing(Feature.DAX_PMEM,
                "cache-line write-back needs " + name + ", but " + evidence, "apt-get install libpmem1", null));
    }
}
