package dev.kdirect.sample.service;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import dev.kdirect.KernelException;
import dev.kdirect.pkeys.Access;
import dev.kdirect.pkeys.AccessWindow;
import dev.kdirect.pkeys.ProtectedRegion;
import dev.kdirect.pkeys.ProtectionKey;
import java.lang.foreign.MemorySegment;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A signing secret kept off-heap in a region guarded by a protection key: no thread can read it except inside
 * {@link #sign}, which opens a read window for the calling thread only, for the length of one HMAC.
 */
public final class SecretVault implements AutoCloseable {
    private final ProtectionKey key;
    private final ProtectedRegion region;
    private final int length;

    private SecretVault(ProtectionKey key, ProtectedRegion region, int length) {
        this.key = key;
        this.region = region;
        this.length = length;
    }

    /** Moves {@code secret} into a protected region and zeroes the caller's array. */
    public static SecretVault holding(byte[] secret) throws KernelException {
        ProtectionKey key = ProtectionKey.allocate();
        ProtectedRegion region = null;
        try {
            region = ProtectedRegion.allocate(key, secret.length);
            try (AccessWindow w = region.open(Access.READ_WRITE)) {
                MemorySegment.copy(secret, 0, w.segment(), JAVA_BYTE, 0, secret.length);
            }
            return new SecretVault(key, region, secret.length);
        } catch (KernelException | RuntimeException e) {
            try (key) { // the region first: a key still protecting pages cannot be freed
                if (region != null) {
                    region.close();
                }
            } catch (KernelException | RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        } finally {
            Arrays.fill(secret, (byte) 0);
        }
    }

    /** HMAC-SHA256 of {@code message} under the secret. */
    public byte[] sign(byte[] message) throws KernelException, GeneralSecurityException {
        byte[] secret = new byte[length];
        try (AccessWindow w = region.open(Access.READ)) {
            MemorySegment.copy(w.segment(), JAVA_BYTE, 0, secret, 0, length);
        }
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            return mac.doFinal(message);
        } finally {
            Arrays.fill(secret, (byte) 0);
        }
    }

    /** The region that holds the secret: tests show that it cannot be read outside a window. */
    ProtectedRegion region() {
        return region;
    }

    @Override
    public void close() throws KernelException {
        region.close();
        key.close();
    }
}
