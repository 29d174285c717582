package dev.kdirect.tcprepair;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A child JVM running a main class of these tests (the same JDK, the same class path), optionally inside a
 * network namespace ({@code ip netns exec NS java ...}), driven by lines on its standard input and answering
 * with lines on its standard output. Its standard error is kept for failure messages.
 */
public final class JvmProcess implements AutoCloseable {
    private final String name;
    private final Process process;
    private final PrintWriter in;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final StringBuffer transcript = new StringBuffer();

    private JvmProcess(String name, Process process) {
        this.name = name;
        this.process = process;
        this.in = new PrintWriter(process.getOutputStream(), true, StandardCharsets.UTF_8);
        Thread.ofPlatform().daemon().start(() -> pump(new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)), true));
        Thread.ofPlatform().daemon().start(() -> pump(new BufferedReader(
                new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8)), false));
    }

    /** Starts {@code main} with these arguments; in the namespace when {@code namespace} is not null. */
    public static JvmProcess start(String name, String namespace, Class<?> main, String... args) throws IOException {
        return start(name, namespace == null ? List.of() : List.of("ip", "netns", "exec", namespace), classPath(),
                List.of(), main, args);
    }

    /**
     * Starts {@code main} under {@code prefix} (a command that execs the rest: ip netns exec, setpriv, ...), with
     * this class path and these extra JVM options.
     */
    static JvmProcess start(String name, List<String> prefix, String classPath, List<String> options, Class<?> main,
            String... args) throws IOException {
        List<String> command = new ArrayList<>(prefix);
        command.add(ProcessHandle.current().info().command().orElseThrow());
        command.addAll(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto", "-XX:-UsePerfData",
                "--enable-native-access=ALL-UNNAMED"));
        command.addAll(options);
        command.addAll(List.of("-cp", classPath, main.getName()));
        command.addAll(List.of(args));
        return new JvmProcess(name, new ProcessBuilder(command).start());
    }

    /**
     * The test class path: java.class.path under Maven, plus what the JUnit console launcher's class loader was
     * given (--class-path, in the QEMU guest).
     */
    static String classPath() {
        Set<String> entries = new LinkedHashSet<>(List.of(System.getProperty("java.class.path").split(":")));
        if (JvmProcess.class.getClassLoader() instanceof URLClassLoader loader) {
            for (var url : loader.getURLs()) {
                entries.add(url.getPath());
            }
        }
        return String.join(":", entries);
    }

    private void pump(BufferedReader reader, boolean stdout) {
        try {
            for (String line; (line = reader.readLine()) != null; ) {
                transcript.append(name).append(stdout ? "> " : "! ").append(line).append('\n');
                if (stdout) {
                    lines.add(line);
                }
            }
        } catch (IOException ended) {
            // the process is gone
        }
    }

    public void send(String line) {
        in.println(line);
    }

    /** The next line that starts with one of the prefixes (others are skipped); fails on timeout or exit. */
    public String expect(long timeoutMillis, String... prefixes) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (true) {
            String line = lines.poll(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (line == null) {
                throw new AssertionError(name + ": none of " + List.of(prefixes) + " within " + timeoutMillis
                        + " ms (" + (process.isAlive() ? "alive" : "exited " + process.exitValue()) + ")\n"
                        + transcript);
            }
            for (String p : prefixes) {
                if (line.startsWith(p)) {
                    return line;
                }
            }
        }
    }

    public Process process() {
        return process;
    }

    public String transcript() {
        return transcript.toString();
    }

    /** Kills it outright (SIGKILL): no shutdown hook runs. */
    public void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            in.close();
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                kill();
            }
        }
    }
}
