package dev.kdirect.kexec;

import dev.kdirect.Binding;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * What the real kernel's bzImage loader logs (arch/x86/kernel/kexec-bzimage64.c, pr_fmt "kexec-bzImage64: "),
 * read with util-linux {@code dmesg} after a marker written to /dev/kmsg. In Debian's 6.1 kernel every refusal of
 * bzImage64_probe and bzImage64_load is pr_err except the elfcorehdr one, which is pr_debug and not logged (the
 * format strings in the guest's vmlinuz carry KERN_ERR, or no level for pr_debug).
 */
final class KernelLog {
    private static final String LOADER = "kexec-bzImage64: ";

    private KernelLog() {
    }

    /** Writes a fresh marker into the kernel log on a real binding; {@code null} on the simulated one. */
    static String mark(Binding binding) throws IOException {
        if (!binding.isReal()) {
            return null;
        }
        String mark = "kdirect-test " + UUID.randomUUID();
        Files.writeString(Path.of("/dev/kmsg"), mark + "\n", StandardOpenOption.WRITE);
        return mark;
    }

    /** The loader's messages logged after {@code mark}, without the prefix. */
    static List<String> bzImageMessagesSince(String mark) throws Exception {
        Process dmesg = new ProcessBuilder("dmesg").redirectErrorStream(true).start();
        String log = new String(dmesg.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!dmesg.waitFor(60, TimeUnit.SECONDS) || dmesg.exitValue() != 0) {
            throw new AssertionError("dmesg failed: " + log);
        }
        int start = log.lastIndexOf(mark);
        if (start < 0) {
            throw new AssertionError("the marker " + mark + " is not in the kernel log:\n" + log);
        }
        return log.substring(start).lines().filter(l -> l.contains(LOADER))
                .map(l -> l.substring(l.indexOf(LOADER) + LOADER.length())).toList();
    }
}
