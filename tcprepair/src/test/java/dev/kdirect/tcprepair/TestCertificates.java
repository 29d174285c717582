package dev.kdirect.tcprepair;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A test CA and the keys of the two hosts of {@link HostNamespaces}, made at test time with the JDK's keytool in a
 * temporary directory, once per JVM (keytool is a JVM start per step): every PKCS12 file has the password
 * {@value #PASSWORD}. Keystores: "a" and "b" (signed by the CA, naming the hosts' control addresses),
 * "a-rogue" and "b-rogue" (the hosts' names, signed by another CA), "b-expired" (host B's, signed by the CA, expired
 * yesterday); the truststore holds the CA alone.
 */
public final class TestCertificates {
    static final String PASSWORD = "kdirect-test";
    private static TestCertificates shared;

    public final Path dir;

    private TestCertificates(Path dir) {
        this.dir = dir;
    }

    /**
     * The certificates of this JVM's tests, made at the first call and removed when the JVM exits; or, where the
     * environment variable KDIRECT_TEST_CERTIFICATES names a directory that {@link #main} made beforehand, those
     * (ci/test makes them on the host for the QEMU guest, where keytool's dozens of JVM starts take minutes).
     */
    public static synchronized TestCertificates get() throws IOException, InterruptedException {
        String madeBefore = System.getenv("KDIRECT_TEST_CERTIFICATES");
        if (shared == null && madeBefore != null) {
            shared = new TestCertificates(Path.of(madeBefore));
        }
        if (shared == null) {
            Path dir = Files.createTempDirectory("kdirect-tls");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(dir)));
            TestCertificates certificates = new TestCertificates(dir);
            certificates.make();
            shared = certificates;
        }
        return shared;
    }

    /** Makes the certificates in the directory {@code args[0]} (created), for KDIRECT_TEST_CERTIFICATES. */
    public static void main(String[] args) throws IOException, InterruptedException {
        new TestCertificates(Files.createDirectories(Path.of(args[0]))).make();
    }

    /** The certificates another JVM of this test made in {@code dir} (a child process's view). */
    public static TestCertificates in(Path dir) {
        return new TestCertificates(dir);
    }

    /** The steps that do not depend on each other run at once: each is a JVM start, seconds under TCG. */
    private void make() throws IOException, InterruptedException {
        inParallel(List.of(() -> authority("ca"), () -> authority("rogue")));
        inParallel(List.of(() -> host("a", "ca", HostNamespaces.CONTROL_A, false),
                () -> host("b", "ca", HostNamespaces.CONTROL_B, false),
                () -> host("a-rogue", "rogue", HostNamespaces.CONTROL_A, false),
                () -> host("b-rogue", "rogue", HostNamespaces.CONTROL_B, false),
                () -> host("b-expired", "ca", HostNamespaces.CONTROL_B, true),
                () -> keytool("-importcert", "-keystore", trustStore().toString(), "-alias", "ca", "-file",
                        pem("ca"), "-noprompt")));
    }

    private interface Step {
        void run() throws IOException, InterruptedException;
    }

    private static void inParallel(List<Step> steps) throws IOException, InterruptedException {
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> running = new ArrayList<>();
            for (Step step : steps) {
                running.add(threads.submit(() -> {
                    step.run();
                    return null;
                }));
            }
            for (Future<?> f : running) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
                }
            }
        }
    }

    /** A key's file. */
    Path keyStore(String name) {
        return dir.resolve(name + ".p12");
    }

    Path trustStore() {
        return dir.resolve("trust.p12");
    }

    /** The context of a side that presents {@code key} (a keystore's name) and trusts the CA. */
    public SSLContext context(String key) throws IOException {
        return MigrationTls.context(keyStore(key), PASSWORD.toCharArray(), trustStore(), PASSWORD.toCharArray());
    }

    /** The context of a side that trusts the CA but has no certificate to present. */
    SSLContext withoutCertificate() throws IOException, GeneralSecurityException {
        KeyStore trusted = KeyStore.getInstance(trustStore().toFile(), PASSWORD.toCharArray());
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(trusted);
        SSLContext context = SSLContext.getInstance(TlsChannel.PROTOCOL);
        context.init(null, trust.getTrustManagers(), null);
        return context;
    }

    /** A self-signed CA certificate (basic constraints: a CA) in NAME.p12, exported to NAME.pem. */
    private void authority(String name) throws IOException, InterruptedException {
        keytool("-genkeypair", "-keystore", keyStore(name).toString(), "-alias", name, "-dname",
                "CN=kdirect test " + name, "-keyalg", "EC", "-groupname", "secp256r1", "-validity", "3",
                "-ext", "bc:c");
        keytool("-exportcert", "-keystore", keyStore(name).toString(), "-alias", name, "-rfc", "-file", pem(name));
    }

    /** A host's key in NAME.p12, its certificate signed by {@code ca} for this IP address, chained to the CA's. */
    private void host(String name, String ca, String address, boolean expired)
            throws IOException, InterruptedException {
        String store = keyStore(name).toString();
        String request = dir.resolve(name + ".csr").toString();
        keytool("-genkeypair", "-keystore", store, "-alias", "host", "-dname", "CN=" + name, "-keyalg", "EC",
                "-groupname", "secp256r1");
        keytool("-certreq", "-keystore", store, "-alias", "host", "-file", request);
        List<String> sign = new ArrayList<>(List.of("-gencert", "-keystore", keyStore(ca).toString(), "-alias", ca,
                "-infile", request, "-outfile", pem(name), "-rfc", "-ext", "san=ip:" + address,
                "-ext", "eku=serverAuth,clientAuth"));
        sign.addAll(expired ? List.of("-startdate", "-3d", "-validity", "2") : List.of("-validity", "3"));
        keytool(sign.toArray(String[]::new));
        Path chain = dir.resolve(name + "-chain.pem");
        Files.writeString(chain, Files.readString(Path.of(pem(name))) + Files.readString(Path.of(pem(ca))));
        keytool("-importcert", "-keystore", store, "-alias", "host", "-file", chain.toString(), "-noprompt");
    }

    private String pem(String name) {
        return dir.resolve(name + ".pem").toString();
    }

    private static void keytool(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "keytool")
                .toString(), "-J-XX:TieredStopAtLevel=1", "-J-Xshare:auto", args[0], "-storetype", "PKCS12",
                "-storepass", PASSWORD));
        command.addAll(List.of(args).subList(1, args.length));
        HostNamespaces.run(command.toArray(String[]::new));
    }

    private static void delete(Path dir) {
        try (Stream<Path> all = Files.walk(dir)) {
            all.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
        } catch (IOException e) {
            // a temporary directory: the system cleans it up
        }
    }
}
