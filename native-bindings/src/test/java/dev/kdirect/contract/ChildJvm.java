package dev.kdirect.contract;

import java.io.File;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * What a test needs to start a child JVM on kdirect, for what cannot happen in the test's own process (a crash,
 * other credentials): this JVM's executable and a class path. Works under Surefire and under the JUnit console
 * launcher that runs the tests in the guest, whose class paths are laid out differently.
 */
public final class ChildJvm {
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

    private static java.net.URI location(Class<?> c) {
        try {
            return c.getProtectionDomain().getCodeSource().getLocation().toURI();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
