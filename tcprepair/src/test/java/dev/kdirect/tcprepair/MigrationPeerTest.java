package dev.kdirect.tcprepair;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kdirect.Feature;
import dev.kdirect.testing.RequiresRealKernel;
import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Who may talk to whom on a migration's Unix domain socket, tried by another local user: a child JVM
 * ({@link UnprivilegedPeer}) that util-linux's setpriv runs as uid 65534 with no capabilities and umask 000, against
 * targets and sources of this (root) JVM. Its connection to a root target is refused before any frame is read and
 * nothing is restored; a root source refuses a socket it bound (or a link to it) and sends it nothing; a regular file
 * at a socket path is never deleted; its own target, under umask 000, refuses the 0777 directory it made and creates
 * its socket 0600. Plus the path errors: too long, no directory, a directory others may write to.
 */
@RequiresRealKernel(Feature.TCP_REPAIR)
@Timeout(120)
class MigrationPeerTest {
    private static final int NOBODY = 65534;
    private static Path base;
    private static Path rootDir;
    private static Path nobodyDir;
    private static JvmProcess nobody;

    @BeforeAll
    static void startAnotherUser() throws Exception {
        RequiredTools.require("nft", "setpriv");
        base = Files.createTempDirectory("kdirect-peer");
        Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
        rootDir = Files.createDirectory(base.resolve("root"));
        nobodyDir = Files.createDirectory(base.resolve("nobody"));
        Files.setOwner(nobodyDir, FileSystems.getDefault().getUserPrincipalLookupService()
                .lookupPrincipalByName(Integer.toString(NOBODY)));
        nobody = JvmProcess.start("uid " + NOBODY, List.of("sh", "-c", "umask 000; exec \"$@\"", "sh", "setpriv",
                "--reuid=" + NOBODY, "--regid=" + NOBODY, "--clear-groups", "--inh-caps=-all", "--"),
                readableClassPath(base.resolve("classes")), List.of(), UnprivilegedPeer.class);
        nobody.expect(Await.DEADLINE_MILLIS, "READY");
    }

    @AfterAll
    static void stop() throws Exception {
        if (nobody != null) {
            nobody.close();
        }
        try (Stream<Path> all = Files.walk(base)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    @Test
    void theOtherUserIsUid65534WithNoCapabilitiesAndUmask000() throws Exception {
        assertThat(ask("id", "ID")).isEqualTo("ID " + NOBODY + " 0000000000000000 0000");
    }

    @Test
    void itsConnectionToARootTargetIsRefusedBeforeAnyFrameIsReadAndNothingIsRestored() throws Exception {
        Path socket = rootDir.resolve("t.sock");
        List<String> steps = new CopyOnWriteArrayList<>();
        MigrationFaults.hook = steps::add;
        try (MigrationTarget target = MigrationTarget.listen(socket)) {
            // the socket is 0600: the other user cannot even connect
            assertThat(ask("forge " + socket, "CONNECT-FAILED", "ANSWER", "CLOSED"))
                    .isEqualTo("CONNECT-FAILED Permission denied");
            // loosened (as a umask of 000 would have made it): it connects, and the credentials refuse it
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw-rw-"));
            CompletableFuture<List<MigrationTarget.Incoming>> session = Accepting.start(target);
            assertThat(ask("forge " + socket, "CONNECT-FAILED", "ANSWER", "CLOSED")).startsWith("ANSWER ")
                    .contains("refused the source: it runs as nobody, allowed are uids [0]");
            assertThat(session).failsWithin(Await.DEADLINE_MILLIS, TimeUnit.MILLISECONDS).withThrowableThat()
                    .withMessageContaining("refused the source: it runs as nobody");
        } finally {
            MigrationFaults.hook = null;
        }
        assertThat(steps).as("steps the target reached").isEmpty(); // not even "target accepted": no frame read
        String own = NetworkLock.processPrefix();
        assertThat(NetworkLock.tables()).noneMatch(t -> t.startsWith(own));
    }

    @Test
    void aSourceRefusesASocketBoundByAnotherUserOrALinkToItAndSendsNothing() throws Exception {
        Path theirs = nobodyDir.resolve("bound.sock");
        ask("bind " + theirs, "BOUND");
        Path link = Files.createSymbolicLink(rootDir.resolve("link.sock"), theirs);
        try {
            for (Path socket : List.of(theirs, link)) {
                try (LoopbackConnection connection = new LoopbackConnection("127.0.0.1", "not for them")) {
                    MigrationSource.Report report = MigrationSource.to(socket).migrate(
                            List.of(new MigrationSource.Outgoing(connection.server, "secret".getBytes())));
                    assertThat(report.failure()).startsWith("refusing to migrate to " + socket + ": ")
                            .contains(socket == link ? "a symbolic link owned by uid 0, not a socket"
                                    : "the socket is owned by uid 65534");
                    assertThat(report.outcomes().getFirst().status()).isEqualTo(MigrationSource.Status.KEPT);
                    connection.assertWorksThrough(report.outcomes().getFirst().channel());
                }
            }
        } finally {
            Files.delete(link);
        }
        assertThat(ask("accepted", "ACCEPTED")).isEqualTo("ACCEPTED 0 0");
    }

    @Test
    void aRegularFileAtTheSocketPathIsNeverDeleted() throws Exception {
        Path theirs = nobodyDir.resolve("file.sock");
        ask("file " + theirs, "FILE");
        assertThatThrownBy(() -> MigrationTarget.listen(theirs)).isInstanceOf(MigrationException.class)
                .hasMessageContaining("is owned by uid 65534, not by this user or root");
        Path ours = Files.writeString(rootDir.resolve("file.sock"), "not a socket");
        assertThatThrownBy(() -> MigrationTarget.listen(ours)).isInstanceOf(MigrationException.class)
                .hasMessage(ours + " already exists (a regular file owned by uid 0): kdirect deletes only the socket"
                        + " it created itself; remove it if no migration target uses it");
        try (LoopbackConnection connection = new LoopbackConnection("127.0.0.1", "stays")) {
            MigrationSource.Report report = MigrationSource.to(ours).migrate(
                    List.of(new MigrationSource.Outgoing(connection.server, new byte[0])));
            assertThat(report.failure()).isEqualTo("refusing to migrate to " + ours
                    + ": it is a regular file owned by uid 0, not a socket");
            connection.assertWorksThrough(report.outcomes().getFirst().channel());
        }
        Path replaced = rootDir.resolve("replaced.sock");
        MigrationTarget target = MigrationTarget.listen(replaced);
        Files.delete(replaced);
        Files.writeString(replaced, "put here after the target bound");
        target.close();
        assertThat(Files.readString(theirs)).isEqualTo("not a socket");
        assertThat(Files.readString(ours)).isEqualTo("not a socket");
        assertThat(Files.readString(replaced)).isEqualTo("put here after the target bound");

        nobody.send("listen " + nobodyDir.resolve("private"));
        assertThat(nobody.expect(Await.DEADLINE_MILLIS, "OPEN-")).startsWith("OPEN-REFUSED the directory "
                + nobodyDir.resolve("private") + " of the migration socket has mode 777: others may write to it");
        assertThat(nobody.expect(Await.DEADLINE_MILLIS, "SOCKET")).isEqualTo("SOCKET rw-------");
        assertThat(nobody.expect(Await.DEADLINE_MILLIS, "DELETED-ON-CLOSE")).isEqualTo("DELETED-ON-CLOSE true");
        assertThat(nobody.expect(Await.DEADLINE_MILLIS, "FILE-")).startsWith("FILE-REFUSED "
                + nobodyDir.resolve("private/t.sock") + " already exists (a regular file owned by uid 65534)");
        assertThat(nobody.expect(Await.DEADLINE_MILLIS, "FILE-KEPT")).isEqualTo("FILE-KEPT true");
    }

    @Test
    void overLongPathsMissingDirectoriesAndDirectoriesOthersMayWriteAreClearErrors() throws Exception {
        Path tooLong = rootDir.resolve("x".repeat(120) + ".sock");
        assertThatThrownBy(() -> MigrationTarget.listen(tooLong)).isInstanceOf(MigrationException.class)
                .hasMessageContaining("bytes long; a Unix domain socket's path holds at most 107 bytes");
        assertThatThrownBy(() -> MigrationSource.to(tooLong)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("holds at most 107 bytes");
        Path missing = rootDir.resolve("missing/t.sock");
        assertThatThrownBy(() -> MigrationTarget.listen(missing)).isInstanceOf(MigrationException.class)
                .hasMessage("the directory " + rootDir.resolve("missing") + " of the socket " + missing + " does not"
                        + " exist (or is not a directory): create it, owned by the service's user with mode 0700");
        Path open = Files.createDirectory(rootDir.resolve("sticky"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThatThrownBy(() -> MigrationTarget.listen(open.resolve("t.sock"))).isInstanceOf(MigrationException.class)
                .hasMessageContaining("has mode 777: others may write to it");
        assertThat(Files.exists(open.resolve("t.sock"), LinkOption.NOFOLLOW_LINKS)).isFalse();
        Files.delete(open);
    }

    private static String ask(String command, String... answers) throws InterruptedException {
        nobody.send(command);
        return nobody.expect(Await.DEADLINE_MILLIS, answers);
    }


    /**
     * The classes the other user's JVM needs (tcprepair's, its tests', kdirect's core), copied where it can read
     * them: the build's own may sit under a directory only root may enter.
     */
    private static String readableClassPath(Path into) throws IOException {
        List<String> entries = new ArrayList<>();
        for (Class<?> c : List.of(MigrationTarget.class, UnprivilegedPeer.class, dev.kdirect.Kernel.class)) {
            Path from;
            try {
                from = Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
            } catch (java.net.URISyntaxException e) {
                throw new IOException(e);
            }
            Path to = into.resolve(Integer.toString(entries.size()));
            Files.createDirectories(into);
            try (Stream<Path> all = Files.walk(from)) {
                for (Path p : all.toList()) {
                    Path target = to.resolve(from.relativize(p).toString());
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(target);
                    } else {
                        Files.copy(p, target);
                    }
                }
            }
            entries.add(to.toString());
        }
        try (Stream<Path> all = Files.walk(into)) {
            for (Path p : all.toList()) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x"
                        : "rw-r--r--"));
            }
        }
        return String.join(":", entries);
    }
}
