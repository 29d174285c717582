package dev.kdirect.tcprepair;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import dev.kdirect.Errno;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.SocketConstants;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Bulk data for the tcprepair tests: a recognisable byte stream, a sender thread, exact reads. */
final class Bulk {
    private Bulk() {
    }

    /** {@code length} bytes in which no short run repeats, so a lost or doubled byte shows. */
    static byte[] pattern(int length, int seed) {
        byte[] bytes = new byte[length];
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) (i * seed + (i >>> 8) * 31 + (i >>> 16));
        }
        return bytes;
    }

    /** Sends {@code bytes} with blocking send(2) on a thread of its own. */
    static Sender send(Kernel kernel, int fd, byte[] bytes) {
        return new Sender(CompletableFuture.runAsync(() -> {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment data = arena.allocate(bytes.length);
                MemorySegment.copy(bytes, 0, data, JAVA_BYTE, 0, bytes.length);
                for (long done = 0; done < bytes.length; ) {
                    done += kernel.send(fd, data.asSlice(done, Math.min(65536, bytes.length - done)),
                            SocketConstants.MSG_NOSIGNAL);
                }
            } catch (KernelException e) {
                throw new IllegalStateException(e);
            }
        }, Thread::startVirtualThread));
    }

    /** A running sender; closing it waits for it. */
    record Sender(CompletableFuture<Void> done) implements AutoCloseable {
        void await() throws Exception {
            done.get(50, TimeUnit.SECONDS);
        }

        @Override
        public void close() throws Exception {
            await();
        }
    }

    /**
     * Sends with MSG_DONTWAIT until the kernel takes no more and nothing is in flight: a full send queue with every
     * sent byte acknowledged stays full, since what it holds waits for the peer's window to open.
     *
     * @return how many bytes the kernel took
     */
    static int sendUntilFull(Kernel kernel, int fd, byte[] bytes) throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(bytes.length);
            MemorySegment.copy(bytes, 0, data, JAVA_BYTE, 0, bytes.length);
            int done = 0;
            while (done < bytes.length) {
                try {
                    done += (int) kernel.send(fd, data.asSlice(done, Math.min(4096, bytes.length - done)),
                            SocketConstants.MSG_DONTWAIT | SocketConstants.MSG_NOSIGNAL);
                } catch (KernelException e) {
                    if (!e.is(Errno.EAGAIN)) {
                        throw e;
                    }
                    if (inFlight(kernel, fd) == 0) {
                        return done;
                    }
                    Await.until("the peer acknowledges the bytes in flight", () -> inFlight(kernel, fd) == 0);
                }
            }
            throw new AssertionError("the kernel took all " + done + " bytes: the peer's window never shut");
        }
    }

    /** Bytes sent and not yet acknowledged: the send queue (SIOCOUTQ) less its unsent part (SIOCOUTQNSD). */
    private static int inFlight(Kernel kernel, int fd) throws KernelException {
        return kernel.ioctlInt(fd, SocketConstants.SIOCOUTQ) - kernel.ioctlInt(fd, SocketConstants.SIOCOUTQNSD);
    }

    /** Exactly {@code length} bytes read with blocking recv(2). */
    static byte[] receive(Kernel kernel, int fd, int length) throws KernelException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(length);
            for (long done = 0; done < length; ) {
                long n = kernel.recv(fd, buffer.asSlice(done, Math.min(65536, length - done)), 0);
                if (n == 0) {
                    throw new AssertionError("end of stream after " + done + " of " + length + " bytes");
                }
                done += n;
            }
            return buffer.toArray(JAVA_BYTE);
        }
    }
}
