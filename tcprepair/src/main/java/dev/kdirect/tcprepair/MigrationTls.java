package dev.kdirect.tcprepair;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The TLS context of a migration between hosts ({@link MigrationSource#toTls}, {@link MigrationTarget#listenTls}):
 * this host's key and certificate, and the certificate authorities whose certificates it accepts from the other
 * side, both PKCS12 files. docs/tcprepair.md shows how to make a CA and the hosts' keys with keytool.
 */
public final class MigrationTls {
    private MigrationTls() {
    }

    /**
     * A TLS 1.3 context presenting the key in {@code keyStore} (the only key entry there, or the first) and trusting
     * the certificates in {@code trustStore}.
     *
     * @throws IOException when a file cannot be read or a password is wrong (the message names the file)
     */
    public static SSLContext context(Path keyStore, char[] keyStorePassword, Path trustStore,
            char[] trustStorePassword) throws IOException {
        try {
            KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(load(keyStore, keyStorePassword), keyStorePassword);
            TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(load(trustStore, trustStorePassword));
            SSLContext context = SSLContext.getInstance(TlsChannel.PROTOCOL);
            context.init(keys.getKeyManagers(), trust.getTrustManagers(), null);
            return context;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot make a TLS context of " + keyStore + " and " + trustStore + ": "
                    + e.getMessage(), e);
        }
    }

    private static KeyStore load(Path file, char[] password) throws IOException, GeneralSecurityException {
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(file)) {
            store.load(in, password);
        } catch (IOException e) {
            throw new IOException("cannot read the PKCS12 keystore " + file + ": " + e.getMessage(), e);
        }
        return store;
    }
}
