package dev.kdirect.examples.handoff;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A copy of a class path that any user can read (directories 0755, files 0644): the JVM's own may sit under a home
 * directory only root reads (a Maven repository in /root/.m2), and the demo's unprivileged children need it.
 */
public final class ReadableCopy {
    private ReadableCopy() {
    }

    /** Copies each existing entry of {@code classPath} into {@code into} (created 0755); the copy's class path. */
    public static String of(String classPath, Path into) throws IOException {
        Files.createDirectories(into);
        mode(into, "rwxr-xr-x");
        List<String> copied = new ArrayList<>();
        int index = 0;
        for (String entry : classPath.split(File.pathSeparator)) {
            Path source = Path.of(entry);
            if (!Files.exists(source)) {
                continue;
            }
            Path target = into.resolve(index++ + "-" + source.getFileName());
            try (Stream<Path> tree = Files.walk(source)) {
                for (Path p : tree.toList()) {
                    Path t = target.resolve(source.relativize(p).toString());
                    if (Files.isDirectory(p)) {
                        Files.createDirectories(t);
                        mode(t, "rwxr-xr-x");
                    } else {
                        Files.copy(p, t);
                        mode(t, "rw-r--r--");
                    }
                }
            }
            copied.add(target.toString());
        }
        return String.join(File.pathSeparator, copied);
    }

    /** Deletes a tree this process made (the copy, the demo's directory). */
    public static void delete(Path root) throws IOException {
        if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> tree = Files.walk(root)) {
            for (Path p : tree.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private static void mode(Path path, String mode) throws IOException {
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString(mode));
    }
}
