package dev.kdirect.tcprepair;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The largest socket buffers the kernel gives a TCP socket in this network namespace, as getsockopt reports them:
 * SO_SNDBUF sets twice min(value, net.core.wmem_max) and autotuning grows the buffer up to net.ipv4.tcp_wmem's
 * maximum (sk_setsockopt in net/core/sock.c, tcp_sndbuf_expand in net/ipv4/tcp_input.c); the same for receiving.
 * Nothing a real connection holds is larger (short of SO_*BUFFORCE), so an image claiming more is refused and the
 * migration limits are sized from these. Read once per JVM.
 *
 * @param sendMax the largest SO_SNDBUF: max(tcp_wmem[2], 2 * wmem_max)
 * @param receiveMax the largest SO_RCVBUF: max(tcp_rmem[2], 2 * rmem_max)
 */
record KernelBuffers(int sendMax, int receiveMax) {
    /**
     * The kernel's defaults where /proc/sys cannot be read: tcp_wmem[2] at most 4 MiB and tcp_rmem[2] at most 6 MiB
     * (tcp_init in net/ipv4/tcp.c, 6.1 to 6.18), wmem_max and rmem_max 212,992 on 64-bit (SK_WMEM_MAX,
     * include/net/sock.h).
     */
    static final KernelBuffers DEFAULTS = new KernelBuffers(4 << 20, 6 << 20);

    private static final class Holder {
        static final KernelBuffers CURRENT = read();
    }

    static KernelBuffers current() {
        return Holder.CURRENT;
    }

    private static KernelBuffers read() {
        try {
            return new KernelBuffers(largest("net/ipv4/tcp_wmem", "net/core/wmem_max"),
                    largest("net/ipv4/tcp_rmem", "net/core/rmem_max"));
        } catch (IOException | RuntimeException e) {
            return DEFAULTS;
        }
    }

    private static int largest(String tcp, String core) throws IOException {
        String[] minDefaultMax = sysctl(tcp).split("\\s+");
        long max = Math.max(Long.parseLong(minDefaultMax[2]), 2 * Long.parseLong(sysctl(core)));
        return (int) Math.min(Integer.MAX_VALUE, max);
    }

    /**
     * By lines: Files.readString of a zero-sized file reads its first byte alone, and an integer sysctl answers a read
     * at a non-zero offset with nothing (__do_proc_dointvec in kernel/sysctl.c, 6.18), which left "4" of "4096".
     */
    private static String sysctl(String name) throws IOException {
        return Files.readAllLines(Path.of("/proc/sys", name)).getFirst().trim();
    }
}
