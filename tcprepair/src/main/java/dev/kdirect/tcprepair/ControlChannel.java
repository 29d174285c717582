package dev.kdirect.tcprepair;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The byte stream a migration session's frames travel on ({@link MigrationWire}), non-blocking, every wait ending at
 * the session's one deadline however the other side paces its bytes. This class carries the bytes as they are (a
 * Unix domain socket, whose peer the kernel vouches for); {@link TlsChannel} carries them in TLS records.
 */
class ControlChannel implements AutoCloseable {
    /** The connected socket under the stream. */
    protected final SocketChannel socket;
    private final Selector selector;
    private final long deadline;
    private final long timeoutMillis;

    /**
     * A session on a connected socket that ends at {@code deadline} (System.nanoTime), {@code timeoutMillis} after it
     * began (for messages).
     */
    ControlChannel(SocketChannel socket, long deadline, long timeoutMillis) throws IOException {
        this.socket = socket;
        this.deadline = deadline;
        this.timeoutMillis = timeoutMillis;
        socket.configureBlocking(false);
        this.selector = Selector.open();
    }

    /**
     * Connects to {@code address} (a Unix domain socket path or a TCP address) by {@code deadline}: a target whose
     * backlog is full (it does not accept) or a host that does not answer is given up on then, as one that hangs
     * later is.
     */
    static SocketChannel connect(SocketAddress address, long deadline) throws IOException {
        SocketChannel channel = address instanceof UnixDomainSocketAddress ? SocketChannel.open(
                StandardProtocolFamily.UNIX) : SocketChannel.open();
        CountDownLatch connected = new CountDownLatch(1);
        Thread.ofVirtual().start(() -> {
            try {
                if (!connected.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                    channel.close(); // ends the blocking connect below
                }
            } catch (InterruptedException | IOException e) {
                // the connect goes on or fails by itself
            }
        });
        try {
            channel.connect(address);
            return channel;
        } catch (AsynchronousCloseException e) {
            throw new MigrationException("the target at " + address + " did not accept the session by its deadline"
                    + " (its backlog is full: it hangs or is overloaded)", e);
        } catch (IOException | RuntimeException | Error e) {
            channel.close();
            throw e;
        } finally {
            connected.countDown();
        }
    }

    /** Reads what has arrived, without waiting: the bytes read, 0 when none have, -1 at the end of the stream. */
    int readNow(ByteBuffer into) throws IOException {
        return socket.read(into);
    }

    /** Writes what the socket takes now, without waiting (one gathering write): the bytes of {@code from} taken. */
    long writeNow(ByteBuffer[] from) throws IOException {
        return socket.write(from);
    }

    /** Writes bytes this channel holds for the socket (TLS records); true when none are left. */
    boolean flushNow() throws IOException {
        return true;
    }

    /** Reads at least one byte into {@code into}, waiting for it until the deadline. */
    final void read(ByteBuffer into) throws IOException {
        while (true) {
            int read = readNow(into);
            if (read < 0) {
                throw new EOFException("the other side closed the migration session");
            }
            if (read > 0) {
                return;
            }
            await(SelectionKey.OP_READ, "receiving");
        }
    }

    /** Writes all of {@code from} (and whatever this channel holds), waiting for the socket until the deadline. */
    final void write(ByteBuffer from) throws IOException {
        write(new ByteBuffer[] {from});
    }

    /** {@link #write(ByteBuffer)} of these buffers in order, with gathering writes. */
    final void write(ByteBuffer[] from) throws IOException {
        while (anyRemaining(from)) {
            if (writeNow(from) == 0) {
                await(SelectionKey.OP_WRITE, "sending");
            }
        }
        while (!flushNow()) {
            await(SelectionKey.OP_WRITE, "sending");
        }
    }

    private static boolean anyRemaining(ByteBuffer[] buffers) {
        for (ByteBuffer b : buffers) {
            if (b.hasRemaining()) {
                return true;
            }
        }
        return false;
    }

    /** Waits until the socket is ready for {@code op}; past the deadline, fails saying it was {@code what}. */
    final void await(int op, String what) throws IOException {
        long left = deadline - System.nanoTime();
        SelectionKey key = socket.register(selector, op);
        try {
            if (left <= 0 || selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left))) == 0) {
                if (deadline - System.nanoTime() <= 0) {
                    throw new MigrationException("the session's deadline (" + timeoutMillis + " ms) passed while "
                            + what + ": the other side hangs or died");
                }
            }
            selector.selectedKeys().clear();
        } finally {
            key.interestOps(0);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            selector.close();
        } finally {
            socket.close();
        }
    }
}
