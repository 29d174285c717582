package dev.kdirect.tcprepair;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * The buffer limits are this namespace's sysctls, read whole: a JVM reading a /proc/sys file a byte at a time gets
 * only its first byte (which once made every limit the defaults, and refused autotuned buffers above 6 MiB).
 */
@EnabledOnOs(OS.LINUX)
class KernelBuffersTest {
    @Test
    void theLimitsAreTheSysctlsAsCatPrintsThem() throws Exception {
        long[] wmem = numbers("net/ipv4/tcp_wmem");
        long[] rmem = numbers("net/ipv4/tcp_rmem");
        long sendMax = Math.max(wmem[2], 2 * numbers("net/core/wmem_max")[0]);
        long receiveMax = Math.max(rmem[2], 2 * numbers("net/core/rmem_max")[0]);
        assertThat(KernelBuffers.current()).isEqualTo(new KernelBuffers((int) Math.min(Integer.MAX_VALUE, sendMax),
                (int) Math.min(Integer.MAX_VALUE, receiveMax)));
    }

    private static long[] numbers(String sysctl) throws IOException, InterruptedException {
        Process cat = new ProcessBuilder("cat", "/proc/sys/" + sysctl).start();
        String out = new String(cat.getInputStream().readAllBytes()).trim();
        assertThat(cat.waitFor()).as(sysctl).isZero();
        String[] fields = out.split("\\s+");
        long[] n = new long[fields.length];
        for (int i = 0; i < fields.length; i++) {
            n[i] = Long.parseLong(fields[i]);
        }
        return n;
    }
}
