package dev.kdirect.tcprepair;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Debian's {@code nft} (package nftables), run as {@code nft -f -} with a batch on its standard input: one
 * transaction per call, in the network namespace of this process. {@code -Dkdirect.nft=PATH} names another binary.
 */
final class Nft {
    static final String PROPERTY = "kdirect.nft";
    private static final List<String> DIRECTORIES = List.of("/usr/sbin", "/sbin", "/usr/bin", "/bin");

    private final String binary;

    private Nft(String binary) {
        this.binary = binary;
    }

    static Nft system() throws NetworkLockException {
        String configured = System.getProperty(PROPERTY);
        if (configured != null) {
            if (!Files.isExecutable(Path.of(configured))) {
                throw new NetworkLockException("nft not found at " + configured + " (-D" + PROPERTY
                        + "): install nftables: apt-get install nftables");
            }
            return new Nft(configured);
        }
        for (String dir : DIRECTORIES) {
            if (Files.isExecutable(Path.of(dir, "nft"))) {
                return new Nft(dir + "/nft");
            }
        }
        throw new NetworkLockException("nft not found in " + DIRECTORIES
                + ": the network lock needs it; install nftables: apt-get install nftables");
    }

    /** Runs a batch and returns what nft printed. */
    String run(String batch) throws NetworkLockException {
        Process p;
        try {
            p = new ProcessBuilder(binary, "-f", "-").redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new NetworkLockException("cannot run " + binary + ": " + e.getMessage()
                    + "; install nftables: apt-get install nftables");
        }
        try {
            // Its own thread, not a shared pool: a pool busy with the caller's blocking tasks would deadlock here.
            CompletableFuture<byte[]> output = new CompletableFuture<>();
            Thread.ofPlatform().daemon().name("nft-output").start(() -> {
                try {
                    output.complete(p.getInputStream().readAllBytes());
                } catch (IOException e) {
                    output.complete(new byte[0]);
                }
            });
            try (OutputStream in = p.getOutputStream()) {
                in.write(batch.getBytes(StandardCharsets.US_ASCII));
            }
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new NetworkLockException(binary + " did not finish within 30 s");
            }
            String text = new String(output.get(), StandardCharsets.UTF_8).strip();
            if (p.exitValue() != 0) {
                throw new NetworkLockException(explain(text, batch));
            }
            return text;
        } catch (IOException e) {
            p.destroyForcibly();
            throw new NetworkLockException("nft failed: " + e.getMessage());
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new NetworkLockException("interrupted while nft ran");
        } catch (ExecutionException e) {
            throw new NetworkLockException("nft output could not be read: " + e.getCause());
        }
    }

    private static String explain(String output, String batch) {
        String first = output.lines().findFirst().orElse("(no output)");
        if (output.contains("Operation not permitted")) {
            return "nft: Operation not permitted: the network lock needs CAP_NET_ADMIN in this network namespace"
                    + " (run with sudo)";
        }
        if (output.contains("Protocol not supported") || output.contains("No such file or directory")
                && batch.startsWith("add table")) {
            return "nft: the kernel has no nf_tables (" + first + "): load it with modprobe nf_tables";
        }
        return "nft refused the batch: " + (output.length() > 2000 ? output.substring(0, 2000) + " ..." : output);
    }
}
