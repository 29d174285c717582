package dev.kdirect;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Linux kernel release as {@code uname -r} prints it ({@code 6.1.0-41-amd64}, {@code 6.12.95+deb12-amd64}), and the
 * running kernel's ({@code /proc/sys/kernel/osrelease}). Where the kernel's behaviour changed between releases, kdirect
 * decides by the mainline version this names; a distribution kernel that backports a change under an older number is
 * not recognised.
 *
 * @param text the release as the kernel gives it
 * @param major the first number, or 0 when the text does not start with {@code MAJOR.MINOR}
 * @param minor the second number, or 0 likewise
 */
public record KernelRelease(String text, int major, int minor) {
    private static final Pattern VERSION = Pattern.compile("^(\\d+)\\.(\\d+)");

    /** Parses {@code uname -r}'s text; text that does not start with {@code MAJOR.MINOR} gives version 0.0. */
    public static KernelRelease parse(String text) {
        Matcher m = VERSION.matcher(text);
        return m.find() ? new KernelRelease(text, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)))
                : new KernelRelease(text, 0, 0);
    }

    /** The running kernel's release, read once; {@code os.version} where /proc is not mounted. */
    public static KernelRelease running() {
        return Running.RELEASE;
    }

    /** True for this release or a later one of mainline version {@code major.minor}. */
    public boolean atLeast(int major, int minor) {
        return this.major > major || this.major == major && this.minor >= minor;
    }

    @Override
    public String toString() {
        return text;
    }

    private static final class Running {
        static final KernelRelease RELEASE = parse(read());

        private static String read() {
            try {
                return Files.readAllLines(Path.of("/proc/sys/kernel/osrelease")).getFirst().strip();
            } catch (IOException | RuntimeException e) {
                return System.getProperty("os.version");
            }
        }
    }
}
