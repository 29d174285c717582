package dev.kdirect.contract;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.SocketConstants;
import dev.kdirect.TcpStructs;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Descriptor-level socket helpers for the TCP repair tests (TcpRepairSyscallContractTest, tcprepair's), on any
 * {@link Kernel}: loopback connections made with socket, bind, listen, connect and accept, and int options, sends and
 * exact reads. Closes what it opened.
 */
public final class Sockets implements AutoCloseable {
    public final Kernel kernel;
    private final Arena arena = Arena.ofShared();
    private final List<Integer> open = new ArrayList<>();

    public Sockets(Kernel kernel) {
        this.kernel = kernel;
    }

    /** A connected pair: {@code client} connected to a listener on {@code host}, {@code server} accepted. */
    public record Pair(int listener, int client, int server) {
    }

    public int tcp(String host) throws KernelException {
        int domain = InetAddress.ofLiteral(host).getAddress().length == 4 ? SocketConstants.AF_INET
                : SocketConstants.AF_INET6;
        return track(kernel.socket(domain, SocketConstants.SOCK_STREAM, 0));
    }

    public int listener(String host) throws Exception {
        int fd = tcp(host);
        kernel.bind(fd, new InetSocketAddress(InetAddress.ofLiteral(host), 0));
        kernel.listen(fd, 16);
        return fd;
    }

    public Pair pair(String host) throws Exception {
        return pair(host, 0);
    }

    /**
     * A connected pair whose sockets have SO_SNDBUF and SO_RCVBUF set to {@code buffers} before the handshake (the
     * accepted socket inherits its listener's), which also stops the kernel's buffer autotuning; 0 leaves them.
     */
    public Pair pair(String host, int buffers) throws Exception {
        int listener = tcp(host);
        int client = tcp(host);
        for (int fd : new int[] {listener, client}) {
            if (buffers > 0) {
                setInt(fd, SocketConstants.SOL_SOCKET, SocketConstants.SO_SNDBUF, buffers);
                setInt(fd, SocketConstants.SOL_SOCKET, SocketConstants.SO_RCVBUF, buffers);
            }
        }
        kernel.bind(listener, new InetSocketAddress(InetAddress.ofLiteral(host), 0));
        kernel.listen(listener, 16);
        kernel.connect(client, kernel.getsockname(listener));
        int server = track(kernel.accept(listener));
        return new Pair(listener, client, server);
    }

    public int track(int fd) {
        open.add(fd);
        return fd;
    }

    /** Stops tracking {@code fd}: something else (a release, a detach) closes it. */
    public int untrack(int fd) {
        open.remove(Integer.valueOf(fd));
        return fd;
    }

    /** Closes {@code fd} now (and not again at the end). */
    public void close(int fd) throws KernelException {
        open.remove(Integer.valueOf(fd));
        kernel.close(fd);
    }

    public void setInt(int fd, int level, int option, int value) throws KernelException {
        kernel.setsockopt(fd, level, option, arena.allocateFrom(JAVA_INT, value));
    }

    public int getInt(int fd, int level, int option) throws KernelException {
        MemorySegment value = arena.allocate(JAVA_INT);
        kernel.getsockopt(fd, level, option, value);
        return value.get(JAVA_INT, 0);
    }

    public void repair(int fd, int value) throws KernelException {
        setInt(fd, SocketConstants.SOL_TCP, SocketConstants.TCP_REPAIR, value);
    }

    public void queue(int fd, int queue) throws KernelException {
        setInt(fd, SocketConstants.SOL_TCP, SocketConstants.TCP_REPAIR_QUEUE, queue);
    }

    public MemorySegment ints(int... values) {
        return arena.allocateFrom(JAVA_INT, values);
    }

    public MemorySegment bytes(int size) {
        return arena.allocate(size);
    }

    /** getsockopt(TCP_INFO) into the prefix of struct tcp_info kdirect reads ({@link TcpStructs#INFO_SIZE}). */
    public MemorySegment tcpInfo(int fd) throws KernelException {
        MemorySegment info = bytes(TcpStructs.INFO_SIZE);
        kernel.getsockopt(fd, SocketConstants.SOL_TCP, SocketConstants.TCP_INFO, info);
        return info;
    }

    /** send(2) of all of {@code text}, in as many calls as it takes. */
    public void send(int fd, String text) throws KernelException {
        byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
        MemorySegment data = arena.allocate(bytes.length);
        MemorySegment.copy(bytes, 0, data, JAVA_BYTE, 0, bytes.length);
        for (long done = 0; done < bytes.length; ) {
            done += kernel.send(fd, data.asSlice(done), SocketConstants.MSG_NOSIGNAL);
        }
    }

    /** Exactly {@code length} bytes read with blocking recv(2); fails on end of stream. */
    public String read(int fd, int length) throws KernelException {
        MemorySegment buffer = arena.allocate(Math.max(1, length));
        for (long done = 0; done < length; ) {
            long n = kernel.recv(fd, buffer.asSlice(done, length - done), 0);
            if (n == 0) {
                throw new AssertionError("end of stream after " + done + " of " + length + " bytes");
            }
            done += n;
        }
        return text(buffer, length);
    }

    /** One recv(2) with these flags into {@code capacity} bytes, as text. */
    public String recv(int fd, int capacity, int flags) throws KernelException {
        MemorySegment buffer = arena.allocate(Math.max(1, capacity));
        long n = kernel.recv(fd, buffer.asSlice(0, capacity), flags);
        return text(buffer, (int) n);
    }

    /** Waits until {@code fd} has {@code bytes} unread (loopback delivers almost at once on the real kernel). */
    public void awaitQueued(int fd, int bytes) throws Exception {
        long millis = TestDeadline.get().toMillis();
        long deadline = System.nanoTime() + millis * 1_000_000;
        while (kernel.ioctlInt(fd, SocketConstants.SIOCINQ) < bytes) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError("not within " + millis + " ms: " + bytes + " bytes queued on descriptor "
                        + fd);
            }
            Thread.sleep(1);
        }
    }

    private static String text(MemorySegment buffer, int length) {
        return new String(buffer.asSlice(0, length).toArray(JAVA_BYTE), StandardCharsets.US_ASCII);
    }

    @Override
    public void close() throws KernelException {
        for (int fd : open.reversed()) {
            kernel.close(fd);
        }
        open.clear();
        arena.close();
    }
}
