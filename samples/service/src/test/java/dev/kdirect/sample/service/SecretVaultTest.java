package dev.kdirect.sample.service;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.kdirect.pkeys.ProtectionKeyFault;
import dev.kdirect.testing.ForceSimulatedKernel;
import java.nio.charset.StandardCharsets;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/**
 * The vault on the simulated kernel, which checks every access to a protected region against the thread's
 * rights (the real kernel kills the JVM with SIGSEGV instead, so only the model can show a refused read).
 */
@ForceSimulatedKernel
class SecretVaultTest {
    static final byte[] MESSAGE = "pay 10 to alice".getBytes(StandardCharsets.US_ASCII);

    static byte[] secret() {
        return "a signing key of 32 bytes, here.".getBytes(StandardCharsets.US_ASCII);
    }

    /** HMAC-SHA256 straight from the JDK, with the secret on the heap: what the vault must sign. */
    static byte[] expectedSignature() throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret(), "HmacSHA256"));
        return mac.doFinal(MESSAGE);
    }

    @Test
    void signsWithTheSecretItHolds() throws Exception {
        try (SecretVault vault = SecretVault.holding(secret())) {
            assertArrayEquals(expectedSignature(), vault.sign(MESSAGE));
        }
    }

    @Test
    void theSecretCannotBeReadOutsideTheVault() throws Exception {
        try (SecretVault vault = SecretVault.holding(secret())) {
            ProtectionKeyFault fault = assertThrows(ProtectionKeyFault.class, () -> vault.region().getByte(0));
            assertEquals(vault.region().key().number(), fault.key());
        }
    }

    @Test
    void theCallersCopyIsWipedOut() throws Exception {
        byte[] secret = secret();
        try (SecretVault vault = SecretVault.holding(secret)) {
            assertArrayEquals(new byte[secret.length], secret);
        }
    }
}
