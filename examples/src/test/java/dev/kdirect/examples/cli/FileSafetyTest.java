package dev.kdirect.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import dev.kdirect.UnsafeFileException;
import dev.kdirect.UserFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files kdirect writes for a user cannot be hijacked by another: a second, unprivileged user (nobody, uid 65534,
 * through util-linux's setpriv) plants a symbolic link or a file of its own where kdirect will write, in a shared
 * sticky directory like /tmp; kdirect (root here, where fs.protected_symlinks may be 0) refuses with exit 6 and
 * the link's target is unchanged. Runs as root (to switch to the other user).
 */
class FileSafetyTest {
    private static final int NOBODY = 65534;

    @TempDir
    Path own; // root's, 0700: where the link points

    Path shared;
    Kernel kernel;

    @BeforeEach
    void sharedStickyDirectory() throws IOException {
        kernel = Kernels.forFeature(Feature.DAX_PMEM);
        Assumptions.assumeTrue(kernel.geteuid() == 0, "needs root to act as a second user");
        shared = Files.createTempDirectory(Path.of("/tmp"), "kdirect-shared");
        Files.setPosixFilePermissions(shared, PosixFilePermissions.fromString("rwxrwxrwx"));
        run("chmod", "+t", shared.toString()); // sticky, as /tmp
    }

    @AfterEach
    void removeShared() throws IOException {
        System.clearProperty("kdirect.pmem.dir");
        if (shared != null) {
            try (Stream<Path> paths = Files.walk(shared)) {
                for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    /** Runs a command as nobody (no groups); it must succeed. */
    private static void asNobody(String... command) throws IOException {
        List<String> all = new ArrayList<>(List.of("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY,
                "--clear-groups", "--"));
        all.addAll(List.of(command));
        run(all.toArray(String[]::new));
    }

    private static void run(String... command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("%s finished", List.of(command)).isTrue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
        assertThat(p.exitValue()).as("%s: %s", List.of(command), new String(p.getInputStream().readAllBytes(),
                StandardCharsets.UTF_8)).isZero();
    }

    private static int owner(Path path) throws IOException {
        return (Integer) Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    }

    /** pmem-log with its default file, in the directory {@code kdirect.pmem.dir} names, on both kernels. */
    private CliRun pmemLogByDefault() {
        System.setProperty("kdirect.pmem.dir", shared.toString());
        return CliRun.onRealAndSimulated("pmem-log", "--records", "1", "--size", "4096");
    }

    @Test
    void aSymlinkPlantedAtTheDefaultPathByAnotherUserIsRefusedAndItsTargetUnchanged() throws IOException {
        Path target = Files.writeString(own.resolve("passwd-like"), "root's data\n");
        Path link = shared.resolve("kdirect-pmem.log");
        asNobody("ln", "-s", target.toString(), link.toString());
        assertThat(owner(link)).as("the link was planted by nobody").isEqualTo(NOBODY);

        CliRun r = pmemLogByDefault();
        assertThat(r.exit()).as(r.out() + r.err()).isEqualTo(6);
        assertThat(r.err()).contains(link + " is a symbolic link").doesNotContain("Exception");
        assertThat(Files.readString(target)).isEqualTo("root's data\n");
        assertThat(Files.size(target)).isEqualTo(12);
        assertThat(Files.isSymbolicLink(link)).isTrue();
    }

    @Test
    void aDanglingSymlinkIsNotFollowedToCreateItsTarget() throws IOException {
        Path target = own.resolve("would-be-created");
        asNobody("ln", "-s", target.toString(), shared.resolve("kdirect-pmem.log").toString());
        CliRun r = pmemLogByDefault();
        assertThat(r.exit()).as(r.out() + r.err()).isEqualTo(6);
        assertThat(Files.exists(target, LinkOption.NOFOLLOW_LINKS)).isFalse();
    }

    @Test
    void aFilePlantedByAnotherUserIsRefusedAndLeftAsItWas() throws IOException {
        Path planted = shared.resolve("kdirect-pmem.log");
        asNobody("truncate", "-s", "4096", planted.toString());
        assertThat(owner(planted)).isEqualTo(NOBODY);
        CliRun r = pmemLogByDefault();
        assertThat(r.exit()).as(r.out() + r.err()).isEqualTo(6);
        assertThat(r.err()).contains("belongs to uid " + NOBODY + ", not to you (uid 0)");
        assertThat(Files.readAllBytes(planted)).isEqualTo(new byte[4096]);
    }

    @Test
    void thePerUserDirectoryIsCreated0700AndRefusedWhenAnotherUserPlantedIt() throws IOException {
        for (Kernel k : List.of(Kernels.ffm(), Kernels.simulated())) {
            kernel = k;
            perUserDirectory();
            Files.delete(shared.resolve("kdirect-0"));
        }
    }

    private void perUserDirectory() throws IOException {
        Path mine = UserFiles.userDirectory(kernel, Map.of(), shared);
        assertThat(mine).isEqualTo(shared.resolve("kdirect-0"));
        assertThat(Files.getPosixFilePermissions(mine)).isEqualTo(PosixFilePermissions.fromString("rwx------"));
        assertThat(UserFiles.userDirectory(kernel, Map.of(), shared)).as("found again").isEqualTo(mine);
        Files.delete(mine);

        asNobody("ln", "-s", own.toString(), mine.toString());
        assertThatThrownBy(() -> UserFiles.userDirectory(kernel, Map.of(), shared)).as(kernel.toString())
                .isInstanceOf(UnsafeFileException.class).hasMessageContaining("is a symbolic link");
        Files.delete(mine);

        asNobody("mkdir", "-m", "700", mine.toString());
        assertThatThrownBy(() -> UserFiles.userDirectory(kernel, Map.of(), shared))
                .isInstanceOf(UnsafeFileException.class).hasMessageContaining("belongs to uid " + NOBODY);
        Files.delete(mine);

        Files.createDirectory(mine, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(
                "rwxr-xr-x")));
        Files.setPosixFilePermissions(mine, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThatThrownBy(() -> UserFiles.userDirectory(kernel, Map.of(), shared))
                .isInstanceOf(UnsafeFileException.class).hasMessageContaining("open to other users (mode 0777)");
        assertThat(UserFiles.userDirectory(kernel, Map.of("XDG_RUNTIME_DIR", own.toString()), shared))
                .as("$XDG_RUNTIME_DIR first").isEqualTo(own);
    }
}
