package dev.kdirect.tcprepair;

import static dev.kdirect.contract.ContractKernels.assertErrno;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Errno;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.testing.RequiresRealKernel;
import java.io.Closeable;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Migration of sockets a framework owns, by descriptor ({@link MigrationSource.Outgoing#ofDescriptor}, {@link
 * MigrationTarget#byDescriptor}), beside a JDK channel in the same session: a moved one is closed through its owner
 * (once), a kept one is never closed and works on in its descriptor, and the target's restored sockets are
 * non-blocking descriptors carrying the unread bytes and working both ways.
 */
@RequiresRealKernel(Feature.TCP_REPAIR)
@Timeout(60)
class MigrationByDescriptorTest {

    @BeforeEach
    void tools() {
        RequiredTools.require("nft");
    }

    /** The owner of a JDK channel's descriptor, as a framework would be: it closes it, once. */
    private static final class Owner implements Closeable {
        final LoopbackConnection connection;
        final AtomicInteger closes = new AtomicInteger();

        Owner(LoopbackConnection connection) {
            this.connection = connection;
        }

        @Override
        public void close() throws IOException {
            closes.incrementAndGet();
            connection.server.close();
        }
    }

    @Test
    void descriptorsMoveThroughTheirOwnerAndArriveAsNonBlockingDescriptors() throws Exception {
        Path dir = Files.createTempDirectory("kdirect-mig-fd");
        Kernel kernel = TcpRepair.system().kernel();
        List<LoopbackConnection> connections = new ArrayList<>();
        List<Owner> owners = new ArrayList<>();
        try (MigrationTarget target = MigrationTarget.listen(dir.resolve("t.sock")).byDescriptor()) {
            List<MigrationSource.Outgoing> out = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                LoopbackConnection c = new LoopbackConnection(i == 1 ? "::1" : "127.0.0.1", "unread #" + i);
                connections.add(c);
                Owner owner = new Owner(c);
                owners.add(owner);
                byte[] state = ("state " + i).getBytes(StandardCharsets.US_ASCII);
                out.add(i == 2 ? new MigrationSource.Outgoing(c.server, state)
                        : MigrationSource.Outgoing.ofDescriptor(SocketDescriptor.of(kernel, c.server), owner, state));
            }
            CompletableFuture<List<MigrationTarget.Incoming>> arrived = Accepting.start(target);
            MigrationSource.Report report = MigrationSource.to(dir.resolve("t.sock"))
                    .mode(MigrationMode.SAME_NAMESPACE).migrate(out);

            assertThat(report.failure()).isNull();
            assertThat(report.count(MigrationSource.Status.MOVED)).as(report.outcomes().toString()).isEqualTo(3);
            assertThat(owners.get(0).closes).hasValue(1);
            assertThat(owners.get(1).closes).hasValue(1);
            assertThat(owners.get(2).closes).hasValue(0); // a channel: closed by the migration itself
            List<MigrationTarget.Incoming> incoming = arrived.get();
            assertThat(incoming).hasSize(3);
            for (int i = 0; i < 3; i++) {
                MigrationTarget.Incoming in = incoming.get(i);
                assertThat(in.channel()).isNull();
                assertThat(in.descriptor()).isNotNegative();
                assertThat(new String(in.attachment(), StandardCharsets.US_ASCII)).isEqualTo("state " + i);
                LoopbackConnection c = connections.get(i);
                assertThat(c.server.isOpen()).isFalse();
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment buffer = arena.allocate(64);
                    assertThat(receive(kernel, in.descriptor(), buffer, c.unread.length))
                            .isEqualTo(new String(c.unread, StandardCharsets.US_ASCII));
                    assertErrno(Errno.EAGAIN, () -> kernel.recv(in.descriptor(), buffer, 0)); // non-blocking
                    buffer.setString(0, "reply", StandardCharsets.US_ASCII);
                    assertThat(kernel.send(in.descriptor(), buffer.asSlice(0, 5), 0)).isEqualTo(5);
                    assertThat(new String(LoopbackConnection.read(c.peer, 5), StandardCharsets.US_ASCII))
                            .isEqualTo("reply");
                }
                kernel.close(in.descriptor());
            }
        } finally {
            for (LoopbackConnection c : connections) {
                c.close();
            }
            Files.deleteIfExists(dir.resolve("t.sock"));
            Files.delete(dir);
        }
    }

    @Test
    void withoutATargetADescriptorStaysItsOwnersAndWorksOn() throws Exception {
        Path dir = Files.createTempDirectory("kdirect-mig-fd");
        Kernel kernel = TcpRepair.system().kernel();
        try (LoopbackConnection c = new LoopbackConnection("127.0.0.1", "kept")) {
            Owner owner = new Owner(c);
            int fd = SocketDescriptor.of(kernel, c.server);
            MigrationSource.Report report = MigrationSource.to(dir.resolve("nobody.sock"))
                    .mode(MigrationMode.SAME_NAMESPACE)
                    .migrate(List.of(MigrationSource.Outgoing.ofDescriptor(fd, owner, new byte[0])));

            assertThat(report.failure()).contains("no migration target");
            MigrationSource.Outcome o = report.outcomes().getFirst();
            assertThat(o.status()).isEqualTo(MigrationSource.Status.KEPT);
            assertThat(o.channel()).isNull();
            assertThat(owner.closes).hasValue(0);
            c.assertWorksThrough(c.server); // the same socket, thawed
        } finally {
            Files.delete(dir);
        }
    }

    private static String receive(Kernel kernel, int fd, MemorySegment buffer, int length) throws Exception {
        StringBuilder got = new StringBuilder();
        while (got.length() < length) {
            try {
                long n = kernel.recv(fd, buffer, 0);
                for (int i = 0; i < n; i++) {
                    got.append((char) buffer.get(ValueLayout.JAVA_BYTE, i));
                }
            } catch (dev.kdirect.KernelException e) {
                if (!e.is(Errno.EAGAIN)) {
                    throw e;
                }
                Thread.onSpinWait(); // non-blocking: the bytes are in the receive queue already, this is rare
            }
        }
        return got.toString();
    }
}
