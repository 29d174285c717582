package dev.kdirect.examples.handoff;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Another {@code kdirect} process started by the demo (the same JVM binary and class path), read line by line;
 * its standard error is kept for the message when it fails.
 */
public final class Child implements AutoCloseable {
    private final String name;
    private final Process process;
    private final PrintWriter in;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final StringBuffer errors = new StringBuffer();

    private Child(String name, Process process) {
        this.name = name;
        this.process = process;
        in = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
        Thread.ofPlatform().daemon().start(() -> read(process.getInputStream(), lines::add));
        Thread.ofPlatform().daemon().start(() -> read(process.getErrorStream(), l -> errors.append(l).append('\n')));
    }

    /** An unprivileged user to run children as, and a class path it can read. */
    public record Unprivileged(int uid, String classPath) {
    }

    /** What /proc says of a child: its real, effective uid and effective capabilities (CapEff, hexadecimal). */
    public record Identity(int uid, String effectiveCapabilities) {
    }

    /** Starts {@code kdirect ARGS...} in a new JVM. */
    public static Child start(String name, String... args) throws IOException {
        return start(name, null, args);
    }

    /**
     * Starts {@code kdirect ARGS...} in a new JVM, as {@code as}'s uid and gid when given: through util-linux's setpriv
     * with no supplementary groups and empty inheritable and bounding sets, so the JVM has no capability at all.
     */
    public static Child start(String name, Unprivileged as, String... args) throws IOException {
        List<String> command = new ArrayList<>();
        if (as != null) {
            command.addAll(List.of("setpriv", "--reuid=" + as.uid(), "--regid=" + as.uid(), "--clear-groups",
                    "--inh-caps=-all", "--bounding-set=-all", "--"));
        }
        command.add(ProcessHandle.current().info().command().orElseThrow());
        // short-lived demo processes: C1 and the serial collector start fastest
        command.addAll(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "--enable-native-access=ALL-UNNAMED"));
        String binding = System.getProperty("kdirect.binding");
        if (binding != null) {
            command.add("-Dkdirect.binding=" + binding);
        }
        command.addAll(List.of("-cp", as != null ? as.classPath() : classPath(), "dev.kdirect.examples.cli.Main"));
        command.addAll(List.of(args));
        return new Child(name, new ProcessBuilder(command).start());
    }

    /**
     * java.class.path, plus what the class loader of kdirect was given when a launcher made one (the JUnit console
     * launcher's --class-path, in the QEMU guest).
     */
    public static String classPath() {
        List<String> entries = new ArrayList<>(List.of(System.getProperty("java.class.path").split(File.pathSeparator)));
        if (Child.class.getClassLoader() instanceof URLClassLoader loader) {
            Arrays.stream(loader.getURLs()).filter(u -> u.getProtocol().equals("file")).forEach(u -> entries.add(
                    u.getPath()));
        }
        return String.join(File.pathSeparator, entries);
    }

    private static void read(java.io.InputStream stream, Consumer<String> sink) {
        try (var reader = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
            for (String line; (line = reader.readLine()) != null; ) {
                sink.accept(line);
            }
        } catch (IOException gone) {
            // the process ended
        }
    }

    /** Its uid and effective capabilities, read from /proc/PID/status (the JVM itself: setpriv execs it). */
    public Identity identity() throws IOException {
        List<String> status = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc", process.pid()
                + "/status"));
        String uid = field(status, "Uid:").split("\\s+")[1];
        return new Identity(Integer.parseInt(uid), field(status, "CapEff:"));
    }

    private static String field(List<String> status, String name) {
        return status.stream().filter(l -> l.startsWith(name)).map(l -> l.substring(name.length()).trim())
                .findFirst().orElseThrow(() -> new IllegalStateException("/proc/PID/status has no " + name));
    }

    public String name() {
        return name;
    }

    public long pid() {
        return process.pid();
    }

    public void send(String line) {
        in.println(line);
    }

    /**
     * The next line starting with {@code prefix}; other lines go to {@code others}.
     *
     * @throws ChildProcessException when the process ends or stays silent for {@code seconds}, with its error
     *     output
     */
    public String await(String prefix, int seconds, Consumer<String> others) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (true) {
            String line = lines.poll(100, TimeUnit.MILLISECONDS);
            if (line != null && line.startsWith(prefix)) {
                return line;
            }
            if (line != null) {
                others.accept(line);
            } else if (!process.isAlive() && lines.isEmpty() || System.nanoTime() > deadline) {
                throw new ChildProcessException("the " + name + " " + (process.isAlive() ? "did not say " + prefix + " within "
                        + seconds + " s" : "exited with status " + process.exitValue()) + ": " + errors.toString()
                        .strip());
            }
        }
    }

    public int waitFor(int seconds) throws InterruptedException, IOException {
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            throw new ChildProcessException("the " + name + " did not exit within " + seconds + " s");
        }
        return process.exitValue();
    }

    /** Closes its input (the children end on it) and kills it if it does not end within 5 s. */
    @Override
    public void close() throws InterruptedException {
        in.close();
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }
}
