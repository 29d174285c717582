package dev.kdirect.examples.cli;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.Kernels;
import dev.kdirect.MapFlags;
import dev.kdirect.OpenFlags;
import dev.kdirect.Prot;
import dev.kdirect.pkeys.Access;
import dev.kdirect.pkeys.AccessWindow;
import dev.kdirect.pkeys.ProtectedRegion;
import dev.kdirect.pkeys.ProtectionKey;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code kdirect pkeys-vault}: a signing key kept in a page guarded by a protection key, right after a request
 * buffer. The key is readable only inside an access window around the signing call; a Heartbleed-style echo
 * that trusts the length a request claims runs over the buffer's end, and the kernel stops the copy at the
 * vault page.
 */
@Command(name = "pkeys-vault", mixinStandardHelpOptions = true,
        description = {"Keeps a secret signing key in a page guarded by a memory protection key, opens it only for"
                + " the signing call, and shows a Heartbleed-style over-read of the neighbouring request buffer"
                + " stopped at the vault page.",
            "Runs on the real kernel where PKU is available (see kdirect doctor), else on the simulated kernel;"
                + " KDIRECT_BINDING=simulated forces the simulated one."},
        exitCodeListHeading = "Exit status:%n",
        exitCodeList = {"0:the secret stayed in the vault",
            "1:the secret leaked",
            FriendlyErrors.EXIT_USAGE,
            FriendlyErrors.EXIT_UNAVAILABLE,
            FriendlyErrors.EXIT_ERRNO,
            FriendlyErrors.EXIT_BUG})
final class PkeysVaultCommand implements Callable<Integer> {
    private static final int SECRET_BYTES = 32;
    private static final byte[] PAYLOAD = "ping:0123456789a".getBytes(StandardCharsets.US_ASCII);
    private static final int OVER_READ = 64;

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print the outcome as JSON.")
    boolean json;

    @Option(names = "--leave-window-open",
            description = "The control experiment: run the heartbeats inside a READ window left open by mistake,"
                    + " and watch the secret leak (exit 1).")
    boolean leaveWindowOpen;

    @Override
    public Integer call() throws KernelException, IOException, GeneralSecurityException {
        Kernel kernel = Kernels.forFeature(Feature.PKEYS);
        long page = kernel.pageSize();
        // Two adjacent pages: the request buffer, then the vault, as heap neighbours were in OpenSSL.
        MemorySegment pages = kernel.mmap(MemorySegment.NULL, 2 * page, Prot.READ_WRITE,
                MapFlags.PRIVATE | MapFlags.ANONYMOUS, -1, 0);
        Path dir = Files.createTempDirectory("kdirect-vault");
        try (ProtectionKey key = ProtectionKey.allocate(kernel);
                ProtectedRegion vault = ProtectedRegion.protect(key, pages.asSlice(page, page))) {
            byte[] secret = new byte[SECRET_BYTES];
            new SecureRandom().nextBytes(secret);
            try (AccessWindow window = vault.open(Access.READ_WRITE)) {
                MemorySegment.copy(secret, 0, window.segment(), JAVA_BYTE, 0, SECRET_BYTES);
            }
            String message = "transfer 100 to alice";
            byte[] signature = sign(vault, message);
            boolean verified = Arrays.equals(signature, hmac(secret, message));

            // The request's payload sits at the very end of the buffer, so the vault follows it directly.
            MemorySegment payload = pages.asSlice(page - PAYLOAD.length, PAYLOAD.length);
            MemorySegment.copy(PAYLOAD, 0, payload, JAVA_BYTE, 0, PAYLOAD.length);
            byte[] honest;
            byte[] bled;
            try (AccessWindow mistake = leaveWindowOpen ? vault.open(Access.READ) : null) {
                honest = echo(kernel, dir.resolve("honest"), payload.address(), PAYLOAD.length, pages);
                bled = echo(kernel, dir.resolve("bleed"), payload.address(), PAYLOAD.length + OVER_READ, pages);
            }
            boolean leaked = containsAnyOf(bled, secret);

            Map<String, Object> report = new LinkedHashMap<>();
            report.put("binding", kernel.binding().id());
            report.put("realProtectionKeys", kernel.binding().isReal());
            report.put("key", key.number());
            report.put("vault", hex(vault.address()));
            report.put("requestBuffer", hex(pages.address()));
            report.put("signature", HexFormat.of().formatHex(signature));
            report.put("signatureVerified", verified);
            report.put("honestEchoBytes", honest.length);
            report.put("overReadClaimedBytes", PAYLOAD.length + OVER_READ);
            report.put("overReadEchoedBytes", bled.length);
            report.put("windowLeftOpen", leaveWindowOpen);
            report.put("secretLeaked", leaked);
            PrintWriter out = spec.commandLine().getOut();
            out.println(json ? Json.write(report) : story(report));
            out.flush();
            return leaked ? 1 : 0;
        } finally {
            kernel.munmap(pages, 2 * page);
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.delete(f);
                }
            }
            Files.delete(dir);
        }
    }

    /** Signs inside a READ window: the key is readable by this thread for the length of the call only. */
    private static byte[] sign(ProtectedRegion vault, String message) throws KernelException, GeneralSecurityException {
        byte[] key = new byte[SECRET_BYTES];
        try (AccessWindow ignored = vault.open(Access.READ)) {
            vault.copyTo(0, key, 0, SECRET_BYTES);
        }
        try {
            return hmac(key, message);
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    private static byte[] hmac(byte[] key, String message) throws GeneralSecurityException {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(message.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The buggy heartbeat: echoes as many bytes as the request CLAIMS, starting at its payload, with pwrite(2) to
     * a file that stands for the socket. Returns what was sent.
     */
    private static byte[] echo(Kernel kernel, Path response, long from, long claimed, MemorySegment pages)
            throws KernelException, IOException {
        // a new file in our own temp directory, never one planted there
        int fd = kernel.open(response.toString(),
                OpenFlags.WRONLY | OpenFlags.CREAT | OpenFlags.EXCL | OpenFlags.NOFOLLOW | OpenFlags.CLOEXEC, 0600);
        try {
            kernel.pwrite(fd, pages.asSlice(from - pages.address(), claimed), 0);
        } finally {
            kernel.close(fd);
        }
        return Files.readAllBytes(response);
    }

    private static boolean containsAnyOf(byte[] sent, byte[] secret) {
        for (int i = 0; i + 4 <= secret.length; i++) {
            byte[] piece = Arrays.copyOfRange(secret, i, i + 4);
            for (int j = 0; j + 4 <= sent.length; j++) {
                if (Arrays.equals(sent, j, j + 4, piece, 0, 4)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static String story(Map<String, Object> r) {
        boolean real = (Boolean) r.get("realProtectionKeys");
        return String.join("\n",
                "pkeys-vault on the " + (real ? "real kernel (" + r.get("binding") + ", hardware protection keys)"
                        : "simulated kernel (no PKU here, or KDIRECT_BINDING=simulated)"),
                "  vault: protection key " + r.get("key") + " guards the page at " + r.get("vault")
                        + ", right after the request buffer at " + r.get("requestBuffer"),
                "  secret: " + SECRET_BYTES + " random bytes written inside a READ_WRITE window, then closed",
                "  sign: HMAC-SHA256(\"transfer 100 to alice\") = " + r.get("signature")
                        + (Boolean.TRUE.equals(r.get("signatureVerified")) ? " (verified)" : " (WRONG)")
                        + ", key read inside a READ window",
                "  heartbeat, honest (" + PAYLOAD.length + " bytes claimed): echoed " + r.get("honestEchoBytes")
                        + " bytes",
                "  heartbeat, Heartbleed (" + r.get("overReadClaimedBytes") + " bytes claimed, " + PAYLOAD.length
                        + " sent): echoed " + r.get("overReadEchoedBytes") + " bytes"
                        + (Boolean.TRUE.equals(r.get("windowLeftOpen"))
                                ? ", run inside a READ window left open by mistake"
                                : ": the kernel stopped copying at the vault page, which this thread may not read"
                                        + " outside a window"),
                Boolean.TRUE.equals(r.get("secretLeaked")) ? "  result: SECRET LEAKED"
                        : "  result: the secret stayed in the vault");
    }

    private static String hex(long address) {
        return "0x" + Long.toHexString(address);
    }
}
