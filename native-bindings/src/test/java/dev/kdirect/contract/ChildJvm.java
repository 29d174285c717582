package dev.kdirect.contract;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Capability;
import dev.kdirect.Errno;
import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * What a test needs to start a child JVM on kdirect, for what cannot happen in the test's own process (a crash,
 * other credentials): this JVM's executable and a class path. Works under Surefire and under the JUnit console
 * launcher that runs the tests in the guest, whose class paths are laid out differently.
 */
public final class ChildJvm {
    private static final long CHILD_TIMEOUT_SECONDS = 300; // a JVM start under TCG emulation in the guest is slow
    private ChildJvm() {
    }

    /** The java executable this JVM runs on. */
    public static String java() {
        return ProcessHandle.current().info().command().orElse(
                Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /**
     * A class path holding {@code classes} (the child's program and the module code it uses) and kdirect's core
     * with the JNA and jnr-constants jars behind its bindings: each class's code source, whether a directory or a jar.
     */
    public static String classPath(Class<?>... classes) {
        return Stream.concat(Stream.of(classes), Stream.of(dev.kdirect.Kernel.class, com.sun.jna.Native.class,
                        jnr.constants.platform.Errno.class))
                .map(c -> Path.of(location(c)).toString())
                .distinct().collect(Collectors.joining(File.pathSeparator));
    }

    /**
     * Runs {@code main} with {@code args} in a child JVM that util-linux's {@code setpriv} starts without
     * {@code capability} in its bounding and inheritable sets: root execs it with every
     * capability but that one, as the tests run as root and a capability is not given up for one call. Returns
     * what the child printed (stdout and stderr); a missing setpriv, a child that does not end within 300 s or a
     * non-zero exit fails.
     *
     * @param classPath classes whose code the child needs besides kdirect's core (see {@link #classPath})
     */
    public static String runWithout(Capability capability, Class<?> main, List<Class<?>> classPath, String... args)
            throws Exception {
        List<Class<?>> classes = new ArrayList<>(classPath);
        classes.addAll(List.of(main, Outcomes.class));
        String name = capability.name().toLowerCase(Locale.ROOT);
        List<String> command = new ArrayList<>(List.of("setpriv", "--inh-caps=-" + name, "--bounding-set=-" + name,
                "--", java(), "-Xshare:auto", "-XX:TieredStopAtLevel=1",
                "--enable-native-access=ALL-UNNAMED", "-cp", classPath(classes.toArray(Class<?>[]::new)),
                main.getName()));
        command.addAll(List.of(args));
        return run(command, "drop " + name);
    }

    /**
     * Runs {@code main} with {@code args} in a child JVM with this process's credentials, for what must start from a
     * fresh process (the protection keys a process has used stay allocated) or may bring it down. Returns what the
     * child printed; a child that does not end within {@code timeoutSeconds} or a non-zero exit fails.
     *
     * @param classPath classes whose code the child needs besides kdirect's core (see {@link #classPath})
     * @param jvmOptions options for the child JVM, before the class path
     */
    public static String run(Class<?> main, List<Class<?>> classPath, List<String> jvmOptions, long timeoutSeconds,
            String... args) throws Exception {
        List<Class<?>> classes = new ArrayList<>(classPath);
        classes.add(main);
        List<String> command = new ArrayList<>(List.of(java(), "-Xshare:auto", "-XX:TieredStopAtLevel=1",
                "--enable-native-access=ALL-UNNAMED"));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", classPath(classes.toArray(Class<?>[]::new)), main.getName()));
        command.addAll(List.of(args));
        return run(command, "run " + main.getSimpleName(), timeoutSeconds);
    }

    /** The uid and gid an unprivileged child runs as: nobody and nogroup on Debian. */
    public static final int NOBODY = 65534;

    /**
     * Runs {@code main} with {@code args} in a child JVM as an unprivileged user: util-linux's {@code setpriv} switches
     * to uid and gid {@value #NOBODY} with no supplementary groups and empties the inheritable and bounding
     * capability sets, so the child has no capability at all. The class path is copied to a directory that user can
     * read (the build's own may sit under a home directory only root reads). Returns what the child printed; a
     * missing setpriv, a child that does not end within 300 s or a non-zero exit fails.
     *
     * @param classPath classes whose code the child needs besides kdirect's core (see {@link #classPath})
     * @param jvmOptions options for the child JVM, before the class path
     */
    public static String runUnprivileged(Class<?> main, List<Class<?>> classPath, List<String> jvmOptions,
            String... args) throws Exception {
        List<Class<?>> classes = new ArrayList<>(classPath);
        classes.addAll(List.of(main, Outcomes.class));
        Path readable = Files.createTempDirectory("child-jvm-classpath-");
        try {
            List<String> command = new ArrayList<>(List.of("setpriv", "--reuid=" + NOBODY, "--regid=" + NOBODY,
                    "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--", java(), "-Xshare:auto",
                    "-XX:TieredStopAtLevel=1", "--enable-native-access=ALL-UNNAMED"));
            command.addAll(jvmOptions);
            command.addAll(List.of("-cp", readableCopy(classPath(classes.toArray(Class<?>[]::new)), readable),
                    main.getName()));
            command.addAll(List.of(args));
            return run(command, "run as uid " + NOBODY);
        } finally {
            deleteTree(readable);
        }
    }

    /** Copies each class path entry into {@code into} (mode 0755 directories, 0644 files); the new class path. */
    private static String readableCopy(String classPath, Path into) throws IOException {
        setMode(into, "rwxr-xr-x");
        List<String> copied = new ArrayList<>();
        int index = 0;
        for (String entry : classPath.split(File.pathSeparator)) {
            Path source = Path.of(entry);
            Path target = into.resolve(index++ + "-" + source.getFileName());
            try (Stream<Path> tree = Files.walk(source)) {
                for (Path p : tree.toList()) {
                    Path t = target.resolve(source.relativize(p).toString());
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(t);
                        setMode(t, "rwxr-xr-x");
                    } else {
                        Files.copy(p, t);
                        setMode(t, "rw-r--r--");
                    }
                }
            }
            copied.add(target.toString());
        }
        return String.join(File.pathSeparator, copied);
    }

    private static void setMode(Path path, String mode) throws IOException {
        Files.setPosixFilePermissions(path, java.nio.file.attribute.PosixFilePermissions.fromString(mode));
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> tree = Files.walk(root)) {
            for (Path p : tree.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    /** Runs the child command; what it printed, after asserting it ended in time with status 0. */
    private static String run(List<String> command, String purpose) throws Exception {
        return run(command, purpose, CHILD_TIMEOUT_SECONDS);
    }

    private static String run(List<String> command, String purpose, long timeoutSeconds) throws Exception {
        Path log = Files.createTempFile("child-jvm-", ".log");
        try {
            Process process;
            try {
                process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            } catch (IOException e) {
                throw new AssertionError("cannot start " + command.get(0) + ", needed to " + purpose + ": " + e, e);
            }
            boolean finished = process.waitFor(timeoutSeconds, TimeUnit.SECONDS);
            if (!finished) {
                process.destroyForcibly().waitFor();
            }
            String output = Files.readString(log);
            assertThat(finished).as("child JVM finished within %d s%n%s", timeoutSeconds, output).isTrue();
            assertThat(process.exitValue()).as("child JVM's exit status%n%s", output).isZero();
            return output;
        } finally {
            Files.delete(log);
        }
    }

    private static java.net.URI location(Class<?> c) {
        try {
            return c.getProtectionDomain().getCodeSource().getLocation().toURI();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
