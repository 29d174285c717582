package dev.kdirect.tcprepair;

import static dev.kdirect.SocketConstants.SOL_SOCKET;
import static dev.kdirect.SocketConstants.TCP_RECV_QUEUE;
import static dev.kdirect.SocketConstants.TCP_REPAIR_OFF;
import static dev.kdirect.SocketConstants.TCP_REPAIR_ON;
import static dev.kdirect.contract.ContractKernels.assertErrno;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Credentials;
import dev.kdirect.KernelException;
import dev.kdirect.Kernels;
import dev.kdirect.SocketConstants;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * TCP repair in a process without CAP_NET_ADMIN, on the simulated kernel: the test processes are root, and a process
 * cannot give the capability up for one test, so the real kernel's side of this is the probe's (FeatureProbesTest).
 * Only TCP_REPAIR on and off check the capability (tcp_can_repair_sock), before the value; SO_SNDBUFFORCE checks it
 * too; every other repair option fails for want of repair mode, not of the capability.
 */
class RepairPermissionTest {
    @Test
    void repairModeNeedsCapNetAdminAndOnlyTheSwitchChecksIt() throws Exception {
        try (Sockets user = new Sockets(Kernels.newSimulated(Credentials.user(1000), List.of()))) {
            int fd = user.tcp("127.0.0.1");
            KernelException e = assertErrno("EPERM", () -> user.repair(fd, TCP_REPAIR_ON));
            assertThat(e.hint()).contains("CAP_NET_ADMIN");
            assertErrno("EPERM", () -> user.repair(fd, TCP_REPAIR_OFF));
            assertErrno("EPERM", () -> user.repair(fd, 2)); // the capability is checked before the value
            assertErrno("EPERM", () -> user.queue(fd, TCP_RECV_QUEUE)); // not in repair mode, not for want of it
            assertErrno("EPERM", () -> user.setInt(fd, SOL_SOCKET, SocketConstants.SO_SNDBUFFORCE, 1 << 20));
            user.setInt(fd, SOL_SOCKET, SocketConstants.SO_SNDBUF, 8192); // the capped variant needs nothing
            assertThat(user.getInt(fd, SOL_SOCKET, SocketConstants.SO_SNDBUF)).isEqualTo(16384);
        }
    }

    @Test
    void checkpointWithoutCapNetAdminLeavesTheConnectionAsItWas() throws Exception {
        try (Sockets user = new Sockets(Kernels.newSimulated(Credentials.user(1000), List.of()))) {
            Sockets.Pair p = user.pair("127.0.0.1");
            assertErrno("EPERM", () -> TcpRepair.on(user.kernel).checkpoint(p.client()));
            user.send(p.client(), "still");
            assertThat(user.read(p.server(), 5)).isEqualTo("still");
        }
    }
}
