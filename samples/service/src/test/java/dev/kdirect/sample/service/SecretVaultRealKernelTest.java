package dev.kdirect.sample.service;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.kdirect.Feature;
import dev.kdirect.testing.RequiresRealKernel;
import org.junit.jupiter.api.Test;

/** The vault on real protection keys: skipped on a CPU without PKU unless pkeys is required (kdirect.require). */
class SecretVaultRealKernelTest {

    @Test
    @RequiresRealKernel(Feature.PKEYS)
    void signsWithTheSecretUnderARealProtectionKey() throws Exception {
        try (SecretVault vault = SecretVault.holding(SecretVaultTest.secret())) {
            assertArrayEquals(SecretVaultTest.expectedSignature(), vault.sign(SecretVaultTest.MESSAGE));
        }
    }
}
