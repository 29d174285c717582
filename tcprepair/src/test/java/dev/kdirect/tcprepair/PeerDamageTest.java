package dev.kdirect.tcprepair;

import static dev.kdirect.contract.ContractKernels.assertErrno;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Errno;
import dev.kdirect.Kernel;
import dev.kdirect.SocketConstants;
import dev.kdirect.contract.Sockets;
import dev.kdirect.testing.ForceSimulatedKernel;
import dev.kdirect.testing.SimulatedMachine;
import org.junit.jupiter.api.Test;

/** {@link SimulatedMachine}'s damage to a connection's peer, seen from the other end of a loopback connection. */
@ForceSimulatedKernel
class PeerDamageTest {

    /**
     * tcp_reset (net/ipv4/tcp_input.c, 6.1) on an established socket sets sk_err to ECONNRESET and calls tcp_done,
     * which marks the socket SOCK_DONE: the next recv reports the error once (sock_error clears it), then reads
     * return 0.
     */
    @Test
    void aResetPeerMakesTheNextReceiveFailWithEconnresetThenEndOfStream(Kernel kernel) throws Exception {
        try (Sockets sockets = new Sockets(kernel)) {
            Sockets.Pair pair = sockets.pair("127.0.0.1");
            sockets.send(pair.server(), "before");
            assertThat(sockets.read(pair.client(), 6)).isEqualTo("before");

            SimulatedMachine.resetPeer(kernel, pair.client());

            assertErrno(Errno.ECONNRESET, () -> sockets.recv(pair.client(), 16, 0));
            assertThat(sockets.recv(pair.client(), 16, 0)).isEmpty();
        }
    }

    /**
     * Bytes a peer never acknowledges stay in the sender's queue: SIOCOUTQ is write_seq - snd_una (tcp_ioctl,
     * net/ipv4/tcp.c, 6.1), and the peer has nothing to read (SIOCINQ 0) until it takes segments again.
     */
    @Test
    void aStalledPeerLeavesWhatWasSentUnacknowledgedUntilItResumes(Kernel kernel) throws Exception {
        try (Sockets sockets = new Sockets(kernel)) {
            Sockets.Pair pair = sockets.pair("127.0.0.1");
            try (SimulatedMachine.Stall stall = SimulatedMachine.stallPeer(kernel, pair.client())) {
                sockets.send(pair.client(), "in flight");
                assertThat(kernel.ioctlInt(pair.client(), SocketConstants.SIOCOUTQ)).isEqualTo(9);
                assertThat(kernel.ioctlInt(pair.server(), SocketConstants.SIOCINQ)).isZero();
            }
            assertThat(sockets.read(pair.server(), 9)).isEqualTo("in flight");
            assertThat(kernel.ioctlInt(pair.client(), SocketConstants.SIOCOUTQ)).isZero();
        }
    }
}
