package dev.kdirect.tcprepair;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.Kernels;
import dev.kdirect.SocketConstants;
import dev.kdirect.TcpStructs;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * A segment sent on a connection while the network lock holds it, watched from both sockets of a loopback
 * connection on the real kernel: it must neither reach the other end nor draw a reset, however long the sender
 * tries; the wait ends when its retransmission or probe timer has fired (so it had every chance to arrive), when it
 * arrived, or on a reset. On loopback every segment crosses both hooks of this namespace, so where it stopped tells
 * a lock on the right 4-tuple from one on the reversed 4-tuple (which stops nothing from a peer on another host): the
 * locked socket's own segment never leaves it (output hook), the peer's leaves the peer and dies on arrival (input
 * hook). The byte arrives once the lock is gone.
 */
final class LockedSegment {
    /** Which end sends: the socket whose 4-tuple the lock holds, or its peer. */
    enum Sender { LOCKED_SOCKET, PEER }


    private LockedSegment() {
    }

    /** Sends one byte from {@code from} to {@code to} and returns what the lock let happen (empty: it held). */
    static List<String> violations(Sender sender, SocketChannel from, SocketChannel to, byte b) throws Exception {
        Kernel kernel = Kernels.forFeature(Feature.TCP_REPAIR);
        int out = SocketDescriptor.of(kernel, from);
        int in = SocketDescriptor.of(kernel, to);
        int queued = kernel.ioctlInt(in, SocketConstants.SIOCINQ);
        int timers = timers(kernel, out);
        if (from.write(ByteBuffer.wrap(new byte[] {b})) != 1) {
            throw new IOException("the kernel took no byte to send");
        }
        Await.until("a locked segment " + sender + " -> the other end arrived, was reset, or was retried",
                () -> kernel.ioctlInt(in, SocketConstants.SIOCINQ) > queued || state(kernel, out)
                        != SocketConstants.TCP_ESTABLISHED || timers(kernel, out) > timers);
        List<String> violations = new ArrayList<>();
        if (kernel.ioctlInt(in, SocketConstants.SIOCINQ) > queued) {
            violations.add(sender + ": the segment reached the other end through the lock");
        }
        if (state(kernel, out) != SocketConstants.TCP_ESTABLISHED) {
            violations.add(sender + ": the segment drew a reset (TCP state " + state(kernel, out) + ")");
        }
        int unsent = kernel.ioctlInt(out, SocketConstants.SIOCOUTQNSD);
        if (sender == Sender.LOCKED_SOCKET && unsent == 0) {
            violations.add(sender + ": the segment is not held unsent in the locked socket (it left: not dropped"
                    + " on output; or the socket does not send)");
        }
        if (sender == Sender.PEER && unsent != 0) {
            violations.add(sender + ": the segment was stopped leaving the peer, not arriving (a lock on the"
                    + " reversed 4-tuple: a peer on another host would pass)");
        }
        return violations;
    }

    /** struct tcp_info's tcpi_state. */
    private static int state(Kernel kernel, int fd) throws KernelException {
        return info(kernel, fd)[0];
    }

    /** tcpi_retransmits + tcpi_probes + tcpi_backoff: grows when the retransmission or window probe timer fires. */
    private static int timers(Kernel kernel, int fd) throws KernelException {
        byte[] info = info(kernel, fd);
        return info[2] + info[3] + info[4];
    }

    private static byte[] info(Kernel kernel, int fd) throws KernelException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment info = arena.allocate(TcpStructs.INFO_SIZE);
            kernel.getsockopt(fd, SocketConstants.SOL_TCP, SocketConstants.TCP_INFO, info);
            return info.asSlice(0, 8).toArray(JAVA_BYTE);
        }
    }
}
