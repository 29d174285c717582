package dev.kdirect.tcprepair;

import dev.kdirect.Credentials;
import dev.kdirect.Kernels;
import dev.kdirect.SocketConstants;
import dev.kdirect.contract.Outcomes;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.List;

/**
 * The service side of {@link RepairHelperTest}, run in a JVM without any capability: its credentials, its own
 * attempt at TCP repair (EPERM), a checkpoint and restore of a loopback connection through the repair helper at
 * {@code args[0]} (the connection must then work both ways with its unread bytes: an assertion failure ends the
 * program with a non-zero status) after a network lock through it, and a lock and a toggle asked of the helper at
 * {@code args[1]}, which does not allow this uid.
 */
public final class UnprivilegedRepairProgram {
    private UnprivilegedRepairProgram() {
    }

    public static void main(String[] args) throws Exception {
        Outcomes out = new Outcomes();
        Credentials self = Credentials.ofCurrentProcess();
        out.put("euid", self.euid()).put("capabilities", Long.toHexString(self.effectiveCapabilities()));
        try (LoopbackConnection c = new LoopbackConnection("127.0.0.1", "unread by the server")) {
            out.step("own-checkpoint", () -> TcpRepair.on(Kernels.real()).checkpoint(c.server));
            try {
                NetworkLock.lockChannels(List.of(c.server)).close();
                out.put("own-lock", "held");
            } catch (NetworkLockException e) {
                out.put("own-lock", e.getMessage());
            }
            try (RepairHelperClient refusing = RepairHelperClient.connect(Path.of(args[1]))) {
                TcpRepair.through(refusing).lock(List.of(c.server)).close();
                out.put("refused-lock", "served");
            } catch (NetworkLockException e) {
                out.put("refused-lock", e.getMessage());
            }
            try (RepairHelperClient helper = RepairHelperClient.connect(Path.of(args[0]))) {
                TcpRepair repair = TcpRepair.through(helper);
                try (ConnectionLock lock = repair.lock(List.of(c.server))) {
                    out.put("lock", lock instanceof RepairHelperClient.Lock l ? "held by the helper, " + l.size()
                            : "held here");
                }
                ConnectionState state = repair.detach(c.server);
                try (SocketChannel restored = repair.restore(state)) {
                    c.assertWorksThrough(restored);
                    out.put("round-trip", "ok");
                }
            }
        }
        int socket = Kernels.real().socket(SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0);
        try (RepairHelperClient refusing = RepairHelperClient.connect(Path.of(args[1]))) {
            refusing.setRepair(SocketConstants.TCP_REPAIR_ON, socket);
            out.put("refused-helper", "served");
        } catch (RepairHelperException e) {
            out.put("refused-helper", e.getMessage());
        } finally {
            Kernels.real().close(socket);
        }
        out.print();
    }
}
