package dev.kdirect.tcprepair;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.SocketConstants;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The credentials of a Unix domain socket's peer (SO_PEERCRED, struct ucred): the process that connected, or that
 * listened for the side that connected, as they were at that moment.
 */
record PeerCredentials(int pid, int uid, int gid) {
    static PeerCredentials of(Kernel kernel, int fd) throws KernelException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ucred = arena.allocate(SocketConstants.UCRED_SIZE, 4);
            kernel.getsockopt(fd, SocketConstants.SOL_SOCKET, SocketConstants.SO_PEERCRED, ucred);
            return new PeerCredentials(ucred.get(JAVA_INT, 0), ucred.get(JAVA_INT, 4), ucred.get(JAVA_INT, 8));
        }
    }

    @Override
    public String toString() {
        return "pid " + pid + " uid " + uid + " gid " + gid;
    }
}
