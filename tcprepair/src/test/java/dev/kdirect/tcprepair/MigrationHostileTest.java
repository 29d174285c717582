package dev.kdirect.tcprepair;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Feature;
import dev.kdirect.testing.RequiresRealKernel;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Hostile sources against a target in a child JVM with a 256 MiB heap ({@link HostileTarget}, default limits, a
 * session deadline of 1.5 s on this host): a frame length of 2^31-1, an inner length of 2^31-1, a 200 MiB
 * image, 10,000 images of 1 MiB each, one byte every third of the deadline. Each is answered (the session closed)
 * for the reason it deserves, the limit it broke or the session's deadline, and leaves the target with the sockets
 * and lock tables it had before. And a source whose target's backlog is full gives up by its deadline, rolls back
 * and unlocks. No assertion reads a clock (a loaded machine or the emulated guest would make it lie): the target's
 * own account of why it ended each session says whether a limit or the deadline ended it.
 */
@RequiresRealKernel(Feature.TCP_REPAIR)
@Timeout(120)
class MigrationHostileTest {
    /**
     * The target's session deadline: 1.5 s, or four times what its JVM took to start where that is slower (the
     * QEMU guest's TCG, where twice was too short for the 64 MiB that end the 10,000-image session), so the pace
     * of each case, not the machine's speed, decides its outcome.
     */
    private static long deadlineMillis;
    private static Path dir;
    private static JvmProcess target;
    private static String sockets;

    @BeforeAll
    static void startTarget() throws Exception {
        RequiredTools.require("nft");
        dir = Files.createTempDirectory("kdirect-hostile");
        long start = System.nanoTime();
        target = JvmProcess.start("target", List.of(), JvmProcess.classPath(), List.of("-Xmx256m"),
                HostileTarget.class, dir.resolve("t.sock").toString());
        target.expect(Await.DEADLINE_MILLIS, "STARTED");
        deadlineMillis = Math.max(1500, 4 * elapsed(start));
        target.send(Long.toString(deadlineMillis));
        sockets = target.expect(Await.DEADLINE_MILLIS, "LISTENING").split(" ")[1];
    }

    @AfterAll
    static void stop() throws Exception {
        target.close();
        Files.deleteIfExists(dir.resolve("t.sock"));
        Files.delete(dir);
    }

    @Test
    void aFrameLengthOf2To31Minus1() throws Exception {
        answered(ByteBuffer.allocate(4).putInt(Integer.MAX_VALUE).flip(), "a frame of 2147483647 bytes");
    }

    @Test
    void anInnerLengthOf2To31Minus1() throws Exception {
        ByteBuffer image = MigrationWire.frame(new MigrationWire.Image(0, new byte[16], new byte[0]));
        ByteBuffer forged = ByteBuffer.allocate(image.remaining()).put(image).flip();
        forged.putInt(4 + 1 + 4, Integer.MAX_VALUE); // the image's length, then the frame re-signed
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(forged.slice(4, forged.remaining() - 8));
        forged.putInt(forged.remaining() - 4, (int) crc.getValue());
        answered(concat(hello(1), forged), "the image claims 2147483647 bytes");
    }

    @Test
    void a200MibImage() throws Exception {
        answered(concat(hello(1), ByteBuffer.allocate(1 << 16).putInt(200 << 20).put((byte) 3).position(1 << 16)
                .flip()), "a frame of 209715200 bytes");
    }

    @Test
    void tenThousandImagesOf1Mib() throws Exception {
        byte[] queue = new byte[1 << 20];
        byte[] image = ConnectionImage.write(new ConnectionState(new java.net.InetSocketAddress("127.0.0.1", 40000),
                new java.net.InetSocketAddress("127.0.0.2", 8080), 1, 1, queue, new byte[0], new byte[0],
                new ConnectionState.TcpOptions(1460, 7, 7, true, true, 1),
                new ConnectionState.RepairWindow(1, 65535, 65535, 65535, 1),
                new ConnectionState.SocketOptions(16384, 131072 << 4, false, false, false)));
        try (SocketChannel source = SocketChannel.open(UnixDomainSocketAddress.of(dir.resolve("t.sock")))) {
            try {
                writeAll(source, hello(10_000));
                for (int i = 0; i < 10_000; i++) { // until the target closes the session
                    writeAll(source, MigrationWire.frame(new MigrationWire.Image(i, image, new byte[0])));
                }
            } catch (IOException closedByTheTarget) {
                // expected: it gave up on the session
            }
            awaitClose(source);
        }
        assertClean("the session exceeds its limit of");
    }

    @Test
    void oneByteEveryThirdOfTheDeadline() throws Exception {
        ByteBuffer hello = hello(1);
        try (SocketChannel source = SocketChannel.open(UnixDomainSocketAddress.of(dir.resolve("t.sock")));
                Selector selector = Selector.open()) {
            source.configureBlocking(false);
            source.register(selector, SelectionKey.OP_READ);
            boolean closed = false;
            while (!closed && hello.hasRemaining()) {
                try {
                    source.write(hello.slice(hello.position(), 1));
                } catch (IOException brokenPipe) {
                    break; // the target closed the session already
                }
                hello.position(hello.position() + 1);
                // the pace: a third of the deadline, unless the target answers first
                closed = selector.select(deadlineMillis / 3) > 0 && drained(source);
                selector.selectedKeys().clear();
            }
            closed = closed || awaitEnd(source);
            // A deadline per read would never fire at this pace: the whole HELLO would arrive.
            assertThat(closed).as("the target ended the session before the HELLO was complete").isTrue();
        }
        assertClean("the session's deadline (" + deadlineMillis + " ms) passed while receiving");
    }

    @Test
    void aSourceWhoseTargetsBacklogIsFullGivesUpByItsDeadline() throws Exception {
        Path busy = dir.resolve("busy.sock");
        List<SocketChannel> backlog = new ArrayList<>();
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)
                .bind(UnixDomainSocketAddress.of(busy), 1);
                LoopbackConnection connection = new LoopbackConnection("127.0.0.1", "unread")) {
            while (true) { // never accepted: fill the backlog until the kernel refuses (EAGAIN)
                SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
                c.configureBlocking(false);
                backlog.add(c);
                try {
                    c.connect(server.getLocalAddress());
                } catch (IOException full) {
                    break;
                }
            }
            long before = HostileTarget.sockets();
            MigrationSource.Report report = MigrationSource.to(busy).timeout(Duration.ofMillis(deadlineMillis))
                    .migrate(List.of(new MigrationSource.Outgoing(connection.server, new byte[0])));
            assertThat(report.failure()).isEqualTo("the target at " + busy + " did not accept the session by its"
                    + " deadline (its backlog is full: it hangs or is overloaded)");
            assertThat(report.outcomes().getFirst().status()).isEqualTo(MigrationSource.Status.KEPT);
            connection.assertWorksThrough(report.outcomes().getFirst().channel());
            assertThat(HostileTarget.sockets()).isEqualTo(before);
            String own = NetworkLock.processPrefix();
            assertThat(NetworkLock.tables()).noneMatch(t -> t.startsWith(own));
        } finally {
            for (SocketChannel c : backlog) {
                c.close();
            }
            Files.deleteIfExists(busy);
        }
    }

    /** Sends {@code bytes} as a source would, and checks that the target ends the session for the outcome, clean. */
    private static void answered(ByteBuffer bytes, String outcome) throws Exception {
        try (SocketChannel source = SocketChannel.open(UnixDomainSocketAddress.of(dir.resolve("t.sock")))) {
            writeAll(source, bytes);
            awaitClose(source);
        }
        assertClean(outcome);
    }

    /** The target closes the session (after an ABORT, read and dropped). */
    private static void awaitClose(SocketChannel source) throws IOException {
        assertThat(awaitEnd(source)).as("the target ended the session").isTrue();
    }

    private static void assertClean(String outcome) throws InterruptedException {
        String[] session = target.expect(Await.DEADLINE_MILLIS, "SESSION").split(" ", 4);
        assertThat(session[3]).contains(outcome);
        assertThat(session[1]).as("sockets left in the target").isEqualTo(sockets);
        assertThat(session[2]).as("lock tables left by the target").isEqualTo("0");
    }

    /** Reads until the end of the stream (or a reset), at most {@link Await#DEADLINE_MILLIS}; true when it came. */
    private static boolean awaitEnd(SocketChannel source) throws IOException {
        source.configureBlocking(false);
        try (Selector selector = Selector.open()) {
            source.register(selector, SelectionKey.OP_READ);
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(Await.DEADLINE_MILLIS);
            while (!drained(source)) {
                long left = TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime());
                if (left <= 0) {
                    return false;
                }
                selector.select(left);
                selector.selectedKeys().clear();
            }
            return true;
        }
    }

    /** Reads what is there (the ABORT); true at the end of the stream or a reset. */
    private static boolean drained(SocketChannel source) {
        ByteBuffer b = ByteBuffer.allocate(65536);
        try {
            int n;
            while ((n = source.read(b.clear())) > 0) {
                // the ABORT
            }
            return n < 0;
        } catch (IOException reset) {
            return true; // the target closed with bytes of ours unread
        }
    }

    private static ByteBuffer hello(int count) {
        return MigrationWire.frame(new MigrationWire.Hello(MigrationMode.SEPARATE_NAMESPACES, count));
    }

    private static ByteBuffer concat(ByteBuffer a, ByteBuffer b) {
        return ByteBuffer.allocate(a.remaining() + b.remaining()).put(a).put(b).flip();
    }

    private static void writeAll(SocketChannel channel, ByteBuffer bytes) throws IOException {
        while (bytes.hasRemaining()) {
            channel.write(bytes);
        }
    }

    private static long elapsed(long start) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    }
}
