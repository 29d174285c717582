package dev.kdirect;

import dev.kdirect.probe.FeatureProbes;
import java.util.Locale;
import java.util.Optional;

/**
 * The five kernel features kdirect binds, each with an availability probe that actually tries the operation on
 * the real kernel, without side effects, once per JVM (on first use, never in a static initialiser).
 */
public enum Feature {
    /** Memory protection keys: pkey_alloc, pkey_mprotect, PKRU (CPU flag pku, kernel support). */
    PKEYS("pkeys", "memory protection keys"),
    /** TCP_REPAIR on a TCP socket (CAP_NET_ADMIN). */
    TCP_REPAIR("tcp-repair", "TCP connection repair"),
    /** kexec_file_load (CONFIG_KEXEC_FILE, CAP_SYS_BOOT). */
    KEXEC_FILE_LOAD("kexec", "kexec_file_load"),
    /** MADV_HWPOISON and MADV_SOFT_OFFLINE (CONFIG_MEMORY_FAILURE, CAP_SYS_ADMIN). */
    MEMORY_FAILURE("memory-failure", "memory-failure injection"),
    /** MAP_SYNC mappings of files on a DAX file system over persistent memory. */
    DAX_PMEM("dax-pmem", "DAX persistent memory");

    private final String id;
    private final String title;

    Feature(String id, String title) {
        this.id = id;
        this.title = title;
    }

    /** The short name used on the command line and in JSON, e.g. {@code tcp-repair}. */
    public String id() {
        return id;
    }

    /** A human title, e.g. {@code memory protection keys}. */
    public String title() {
        return title;
    }

    /** What the probe found on the real kernel (probing once, on first call). */
    public FeatureStatus status() {
        return FeatureProbes.status(this);
    }

    /**
     * True when the real kernel provides this feature to this process. What kdirect will do about it under the
     * configured binding and fallback is {@link #resolution()}.
     */
    public boolean isAvailable() {
        return status().real();
    }

    /**
     * What {@link Kernels#forFeature} will do for this feature under the configured {@code -Dkdirect.binding} and
     * {@code -Dkdirect.fallback}: use the real kernel, the simulated one (with or without a warning), or throw
     * {@link FeatureUnavailableException}. Probes on first call; logs nothing.
     */
    public FeatureResolution resolution() {
        return Kernels.resolution(this);
    }

    /**
     * Returns normally when the feature is real here.
     *
     * @throws FeatureUnavailableException naming what was tried, why it failed, and what to do
     */
    public void ensureAvailable() {
        FeatureStatus status = status();
        if (!status.real()) {
            throw new FeatureUnavailableException(status);
        }
    }

    /** The failure that made the feature unavailable, if any. */
    public Optional<Throwable> unavailabilityCause() {
        return Optional.ofNullable(status().cause());
    }

    /**
     * Parses an {@link #id()} or an enum name (any case).
     *
     * @throws IllegalArgumentException naming the accepted ids
     */
    public static Feature parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        for (Feature f : values()) {
            if (f.id.equals(t) || f.name().toLowerCase(Locale.ROOT).equals(t)) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown feature '" + text
                + "': use pkeys, tcp-repair, kexec, memory-failure or dax-pmem");
    }
}
