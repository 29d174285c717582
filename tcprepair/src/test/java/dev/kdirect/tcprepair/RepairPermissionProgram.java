package dev.kdirect.tcprepair;

import static dev.kdirect.SocketConstants.SOL_SOCKET;
import static dev.kdirect.SocketConstants.SOL_TCP;

import dev.kdirect.Binding;
import dev.kdirect.Capability;
import dev.kdirect.Credentials;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.Kernels;
import dev.kdirect.SocketConstants;
import dev.kdirect.contract.Sockets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The steps of {@link RepairPermissionTest}, on any {@link Kernel}: what TCP repair and the forced buffer options
 * give a process without CAP_NET_ADMIN. Each step's outcome is recorded, not asserted, so the test can make the same
 * assertions whether the steps ran in its own JVM (simulated kernel) or in a child JVM started without the
 * capability (real kernel): {@link #main} prints them, one {@code outcome STEP VALUE} line each.
 *
 * <p>An outcome is {@code ok}, a value read back, or the errno name of a failure (then the hint follows as the
 * outcome of {@code STEP.hint}).
 */
public final class RepairPermissionProgram {
    static final String PREFIX = "outcome ";

    private RepairPermissionProgram() {
    }

    /** {@code main(binding id)}: the credentials this process runs with, then the outcomes. */
    public static void main(String[] args) throws Exception {
        Credentials self = Credentials.ofCurrentProcess();
        System.out.println("credentials: euid " + self.euid() + ", CAP_NET_ADMIN "
                + self.capable(Capability.NET_ADMIN));
        outcomes(Kernels.of(Binding.parse(args[0])))
                .forEach((step, outcome) -> System.out.println(PREFIX + step + " " + outcome));
    }

    /** Runs every step on {@code kernel}; a step's failure is its outcome, never an end to the others. */
    static Map<String, String> outcomes(Kernel kernel) throws Exception {
        Map<String, String> out = new LinkedHashMap<>();
        try (Sockets s = new Sockets(kernel)) {
            int fd = s.tcp("127.0.0.1");
            step(out, "repair-on", () -> s.repair(fd, SocketConstants.TCP_REPAIR_ON));
            step(out, "repair-off", () -> s.repair(fd, SocketConstants.TCP_REPAIR_OFF));
            step(out, "repair-bad-value", () -> s.repair(fd, 2));
            step(out, "repair-queue", () -> s.queue(fd, SocketConstants.TCP_RECV_QUEUE));
            step(out, "repair-window", () -> kernel.setsockopt(fd, SOL_TCP, SocketConstants.TCP_REPAIR_WINDOW,
                    s.bytes(SocketConstants.TCP_REPAIR_WINDOW_SIZE)));
            step(out, "timestamp", () -> s.setInt(fd, SOL_TCP, SocketConstants.TCP_TIMESTAMP, 1));
            step(out, "sndbufforce", () -> s.setInt(fd, SOL_SOCKET, SocketConstants.SO_SNDBUFFORCE, 1 << 20));
            step(out, "rcvbufforce", () -> s.setInt(fd, SOL_SOCKET, SocketConstants.SO_RCVBUFFORCE, 1 << 20));
            step(out, "sndbuf", () -> s.setInt(fd, SOL_SOCKET, SocketConstants.SO_SNDBUF, 8192));
            out.put("sndbuf-read", String.valueOf(s.getInt(fd, SOL_SOCKET, SocketConstants.SO_SNDBUF)));

            Sockets.Pair p = s.pair("127.0.0.1");
            step(out, "checkpoint", () -> TcpRepair.on(kernel).checkpoint(p.client()));
            s.send(p.client(), "still");
            out.put("after-checkpoint", s.read(p.server(), 5));
        }
        return out;
    }

    private interface Step {
        void run() throws Exception;
    }

    private static void step(Map<String, String> out, String name, Step step) throws Exception {
        try {
            step.run();
            out.put(name, "ok");
        } catch (KernelException e) {
            out.put(name, e.errnoName());
            out.put(name + ".hint", String.valueOf(e.hint()).replace('\n', ' '));
        }
    }
}
