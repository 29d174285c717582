package dev.kdirect.probe;

import dev.kdirect.Feature;
import dev.kdirect.FeatureStatus;
import dev.kdirect.FeatureUnavailableException;
import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import dev.kdirect.NativeAccess;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Runs each feature's probe once per JVM, on the configured real binding, and keeps the result. A probe never
 * throws: whatever goes wrong becomes a status with its cause.
 */
public final class FeatureProbes {
    private static final Map<Feature, FeatureStatus> CACHE = new ConcurrentHashMap<>();

    private FeatureProbes() {
    }

    public static FeatureStatus status(Feature feature) {
        return CACHE.computeIfAbsent(feature, f -> probe(f, Kernels.real()));
    }

    /** Runs a probe now, on the given kernel, without caching: for doctor and for tests of the probes. */
    public static FeatureStatus probe(Feature feature, Kernel kernel) {
        try {
            return switch (feature) {
                case PKEYS -> PkeysProbe.probe(kernel);
                case TCP_REPAIR -> TcpRepairProbe.probe(kernel);
                case KEXEC_FILE_LOAD -> KexecProbe.probe(kernel);
                case MEMORY_FAILURE -> MemoryFailureProbe.probe(kernel);
                case DAX_PMEM -> DaxProbe.probe(kernel);
            };
        } catch (IllegalCallerException e) {
            return FeatureStatus.missing(feature, e.getMessage(), "add " + NativeAccess.flag(), e);
        } catch (FeatureUnavailableException e) {
            return e.status(); // the binding lacks a function the probe needs (an old glibc)
        } catch (RuntimeException | LinkageError e) {
            return FeatureStatus.missing(feature, "the probe failed: " + e, "report this as a kdirect bug", e);
        }
    }
}
