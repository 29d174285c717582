package dev.kdirect.probe;

import dev.kdirect.Errno;
import dev.kdirect.Feature;
import dev.kdirect.FeatureStatus;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.SocketConstants;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Puts a fresh, unconnected TCP socket into repair mode and closes it: no packet is sent. Repair on and off is
 * the only TCP repair operation that needs CAP_NET_ADMIN (net/ipv4/tcp.c, tcp_can_repair_sock).
 */
final class TcpRepairProbe {
    private TcpRepairProbe() {
    }

    static FeatureStatus probe(Kernel kernel) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment on = arena.allocateFrom(ValueLayout.JAVA_INT, 1);
            int fd = kernel.socket(SocketConstants.AF_INET, SocketConstants.SOCK_STREAM | SocketConstants.SOCK_CLOEXEC, 0);
            try {
                kernel.setsockopt(fd, SocketConstants.SOL_TCP, SocketConstants.TCP_REPAIR, on);
            } finally {
                kernel.close(fd);
            }
            return FeatureStatus.real(Feature.TCP_REPAIR, "setsockopt(TCP_REPAIR, 1) on a new TCP socket succeeded");
        } catch (KernelException e) {
            String action = e.is(Errno.EPERM) ? "TCP_REPAIR needs CAP_NET_ADMIN: run with sudo (a service without"
                    + " capabilities: kdirect repair-helper)"
                    : e.is(Errno.ENOPROTOOPT) ? "the kernel does not know TCP_REPAIR (needs Linux 3.5 or later)"
                    : e.hint();
            return FeatureStatus.missing(Feature.TCP_REPAIR, "TCP_REPAIR on a new TCP socket: " + e.syscall()
                    + " failed: " + e.errnoName(), action, e);
        }
    }
}
