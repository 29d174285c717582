package dev.kdirect.tcprepair;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kdirect.Errno;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.Kernels;
import dev.kdirect.OpenFlags;
import dev.kdirect.SocketConstants;
import dev.kdirect.contract.ChildJvm;
import dev.kdirect.contract.Outcomes;
import dev.kdirect.testing.RequiresRealKernel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The repair helper on the real kernel, run by this (root) JVM: a service JVM with no capability at all (setpriv to
 * uid 65534, empty bounding set) checkpoints and restores a live connection through it, while a helper that does not
 * allow that uid refuses it; a client refuses a helper running as an unexpected uid before handing it anything; the
 * helper refuses descriptors that are not TCP sockets and commands it does not know by closing the connection (the
 * protocol's failure), and sets the forced buffer sizes of the kdirect extension. The lock extension: the service
 * without capabilities locks through the helper (and cannot itself), another helper refuses its uid; a lock drops the
 * connection's packets both ways until unlocked, and a client whose connection closes leaves none behind; a lock of
 * no socket, of a file, of a Unix domain or an unconnected TCP socket is refused, a client cannot unlock another's lock and
 * holds at most {@value RepairProtocol#MAX_LOCKS_PER_CLIENT}.
 */
@RequiresRealKernel(Feature.TCP_REPAIR)
@Timeout(300)
class RepairHelperTest {
    private static final int NOBODY = ChildJvm.NOBODY;

    private final List<RepairHelper.Event> log = new CopyOnWriteArrayList<>();
    private final Kernel kernel = Kernels.real();
    private Path dir;
    private RepairHelper helper;

    @BeforeEach
    void startHelper() throws Exception {
        dir = Files.createTempDirectory("kdirect-repair-helper");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x")); // nobody reaches the socket
        helper = RepairHelper.start(dir.resolve("helper.sock"), Set.of(0, NOBODY), log::add);
    }

    @AfterEach
    void stopHelper() throws Exception {
        helper.close();
        Files.delete(dir);
    }

    @Test
    void aFileAlreadyAtThePathIsRefusedAndLeftAsItWasAndAnOpenDirectoryIsRefused() throws Exception {
        Path taken = Files.writeString(dir.resolve("taken.sock"), "not the helper's");
        assertThatThrownBy(() -> RepairHelper.start(taken, Set.of(0), e -> { }))
                .isInstanceOf(RepairHelperException.class)
                .hasMessageContaining(taken + " already exists (a regular file owned by uid 0)");
        assertThat(Files.readString(taken)).isEqualTo("not the helper's");
        Path open = Files.createDirectory(dir.resolve("open"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        assertThatThrownBy(() -> RepairHelper.start(open.resolve("h.sock"), Set.of(0), e -> { }))
                .isInstanceOf(RepairHelperException.class)
                .hasMessageContaining("of the repair helper's socket has mode 777: others may write to it");
        Files.delete(open);
        Files.delete(taken);
    }

    @Test
    void aServiceWithNoCapabilitiesCheckpointsAndRestoresThroughTheHelperAndAnotherHelperRefusesIt()
            throws Exception {
        RequiredTools.require("nft"); // the helper's lock
        List<RepairHelper.Event> refusingLog = new CopyOnWriteArrayList<>();
        try (RepairHelper rootOnly = RepairHelper.start(dir.resolve("root-only.sock"), Set.of(0), refusingLog::add)) {
            String output = ChildJvm.runUnprivileged(UnprivilegedRepairProgram.class,
                    List.of(TcpRepair.class, LoopbackConnection.class, org.assertj.core.api.Assertions.class),
                    List.of("--add-exports", "java.base/sun.nio.ch=ALL-UNNAMED"),
                    helper.socket().toString(), rootOnly.socket().toString());
            Map<String, String> outcome = Outcomes.parse(output);
            assertThat(outcome).as(output).containsEntry("euid", String.valueOf(NOBODY))
                    .containsEntry("capabilities", "0")
                    .containsEntry("own-checkpoint", "EPERM")
                    .containsEntry("round-trip", "ok")
                    .containsEntry("lock", "held by the helper, 1");
            assertThat(outcome.get("own-lock")).as(output).contains("Operation not permitted");
            assertThat(outcome.get("refused-helper")).as(output).contains("closed the connection");
            assertThat(outcome.get("refused-lock")).as(output).contains("closed the connection");
            assertThat(refusingLog).as("the root-only helper's log").anyMatch(e -> e.kind().equals("refused")
                    && e.client().uid() == NOBODY);
            assertThat(refusingLog).noneMatch(e -> e.kind().equals("done") || e.kind().equals("locked"));
        }
        // what the service asked: buffers forced and repair on for the restore, on and off for the freeze
        List<String> done = log.stream().filter(e -> e.kind().equals("done") && e.client().uid() == NOBODY)
                .map(RepairHelper.Event::detail).toList();
        assertThat(done).anyMatch(d -> d.startsWith("TCP_REPAIR on on [/127.0.0.1:"))
                .anyMatch(d -> d.startsWith("SO_SNDBUFFORCE")).anyMatch(d -> d.startsWith("SO_RCVBUFFORCE"))
                .anyMatch(d -> d.startsWith("TCP_REPAIR off"));
        assertThat(log).anyMatch(e -> e.kind().equals("locked") && e.client().uid() == NOBODY)
                .anyMatch(e -> e.kind().equals("unlocked") && e.client().uid() == NOBODY
                        && e.detail().endsWith("the client asked"));
    }

    @Test
    void theLockThroughTheHelperDropsTheConnectionsPacketsBothWaysUntilUnlocked() throws Exception {
        RequiredTools.require("nft"); // the helper's lock
        try (Connected c = new Connected(); RepairHelperClient client = RepairHelperClient.connect(helper.socket())) {
            String table;
            try (RepairHelperClient.Lock lock = client.lock(SocketDescriptor.of(kernel, c.client))) {
                table = lockedTable();
                assertThat(NetworkLock.tables()).contains(table);
                assertThat(LockedSegment.violations(LockedSegment.Sender.LOCKED_SOCKET, c.client, c.accepted,
                        (byte) 1)).isEmpty();
                assertThat(LockedSegment.violations(LockedSegment.Sender.PEER, c.accepted, c.client, (byte) 2))
                        .isEmpty();
            }
            assertThat(NetworkLock.tables()).doesNotContain(table);
            assertThat(NetworkLockTest.readOne(c.accepted)).isEqualTo((byte) 1);
            assertThat(NetworkLockTest.readOne(c.client)).isEqualTo((byte) 2);
            // the helper read the addresses from the socket it was handed
            String tuple = "[" + c.client.getLocalAddress() + " -> " + c.client.getRemoteAddress() + "]";
            assertThat(log).anyMatch(e -> e.kind().equals("locked") && e.detail().endsWith(tuple));
            assertThat(log).anyMatch(e -> e.kind().equals("unlocked") && e.detail().contains(table));
        }
    }

    @Test
    void aClientWhoseConnectionToTheHelperClosesLeavesNoLockBehind() throws Exception {
        RequiredTools.require("nft"); // the helper's lock
        try (Connected c = new Connected()) {
            RepairHelperClient client = RepairHelperClient.connect(helper.socket());
            RepairHelperClient.Lock lock = client.lock(SocketDescriptor.of(kernel, c.client));
            String table = lockedTable();
            assertThat(NetworkLock.tables()).contains(table);
            client.close(); // as the kernel does for a service that dies
            Await.until("the helper removes " + table, () -> !NetworkLock.tables().contains(table));
            lock.close(); // nothing left to ask: the helper removed it
            c.client.write(java.nio.ByteBuffer.wrap(new byte[] {7}));
            assertThat(NetworkLockTest.readOne(c.accepted)).isEqualTo((byte) 7);
            // the helper logs the unlock after nft removed the table: wait for the line, not only the table
            Await.until("the helper logs the unlock", () -> log.stream().anyMatch(e -> e.kind().equals("unlocked")
                    && e.detail().endsWith("the client's connection closed")));
        }
    }

    @Test
    void aLockOfNoSocketOrOfAnythingButAConnectedTcpSocketIsRefused() throws Exception {
        RequiredTools.require("nft"); // the helper's lock
        Path file = dir.resolve("not-a-socket");
        int regular = kernel.open(file.toString(), OpenFlags.CREAT | OpenFlags.RDWR | OpenFlags.CLOEXEC, 0600);
        int unconnected = kernel.socket(SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0);
        int unix = kernel.socket(SocketConstants.AF_UNIX, SocketConstants.SOCK_STREAM, 0);
        try {
            assertThat(rawRequest(RepairProtocol.LOCK, 0)).as("no socket").isZero();
            assertThat(rawRequest(RepairProtocol.LOCK, 0, regular)).as("a regular file").isZero();
            assertThat(rawRequest(RepairProtocol.LOCK, 0, unix)).as("a Unix domain socket").isZero();
            assertThat(rawRequest(RepairProtocol.LOCK, 0, unconnected)).as("an unconnected TCP socket").isZero();
        } finally {
            kernel.close(unix);
            kernel.close(unconnected);
            kernel.close(regular);
            Files.delete(file);
        }
        assertThat(log).filteredOn(e -> e.kind().equals("refused")).extracting(RepairHelper.Event::detail)
                .anyMatch(d -> d.equals("lock without a socket"))
                .anyMatch(d -> d.startsWith("lock on descriptor") && d.endsWith("which is not a TCP socket"))
                .anyMatch(d -> d.contains("is not a connected TCP socket (ENOTCONN)"));
        assertThat(log).noneMatch(e -> e.kind().equals("locked"));
    }

    @Test
    void aClientUnlocksOnlyItsOwnLocksAndHoldsAFewAtMost() throws Exception {
        RequiredTools.require("nft"); // the helper's lock
        try (Connected c = new Connected(); RepairHelperClient owner = RepairHelperClient.connect(helper.socket())) {
            int socket = SocketDescriptor.of(kernel, c.client);
            List<RepairHelperClient.Lock> locks = new java.util.ArrayList<>();
            for (int i = 0; i < RepairProtocol.MAX_LOCKS_PER_CLIENT; i++) {
                locks.add(owner.lock(socket));
            }
            List<String> tables = log.stream().filter(e -> e.kind().equals("locked"))
                    .map(e -> tableOf(e.detail())).toList();
            assertThat(rawRequest(RepairProtocol.UNLOCK, locks.getFirst().id())).as("another client's unlock")
                    .isZero();
            assertThat(NetworkLock.tables()).containsAll(tables);
            assertThatThrownBy(() -> owner.lock(socket)).isInstanceOf(RepairHelperException.class)
                    .hasMessageContaining("closed the connection");
            Await.until("the helper removes the owner's locks", () -> NetworkLock.tables().stream()
                    .noneMatch(tables::contains));
        }
        assertThat(log).filteredOn(e -> e.kind().equals("refused")).extracting(RepairHelper.Event::detail)
                .contains("unlock: lock 1, which this client does not hold",
                        "lock: this client holds 4 locks already (at most 4)");
    }

    /** A loopback connection: both ends in this process. */
    private static final class Connected implements AutoCloseable {
        final ServerSocketChannel server = ServerSocketChannel.open()
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        final SocketChannel client = SocketChannel.open(server.getLocalAddress());
        final SocketChannel accepted = server.accept();

        Connected() throws java.io.IOException {
        }

        @Override
        public void close() throws java.io.IOException {
            accepted.close();
            client.close();
            server.close();
        }
    }

    /** The table of the helper's latest lock, from its log. */
    private String lockedTable() {
        return tableOf(log.reversed().stream().filter(e -> e.kind().equals("locked")).findFirst().orElseThrow()
                .detail());
    }

    private static String tableOf(String detail) {
        Matcher m = Pattern.compile("\\((" + NetworkLock.PREFIX + "\\S+),").matcher(detail);
        assertThat(m.find()).as(detail).isTrue();
        return m.group(1);
    }

    /**
     * A request written by hand on a new connection (a command, an int, descriptors); the reply's length, 0 when the
     * helper closed the connection (a reset when it closed before reading the int).
     */
    private long rawRequest(byte command, int value, int... descriptors) throws Exception {
        int connection = kernel.socket(SocketConstants.AF_UNIX, SocketConstants.SOCK_STREAM, 0);
        try (Arena arena = Arena.ofConfined()) {
            kernel.connect(connection, UnixDomainSocketAddress.of(helper.socket()));
            MemorySegment request = arena.allocate(1 + RepairProtocol.VALUE_BYTES);
            request.set(JAVA_BYTE, 0, command);
            request.set(JAVA_INT_UNALIGNED, 1, value);
            kernel.sendmsg(connection, request, descriptors, SocketConstants.MSG_NOSIGNAL);
            return kernel.recv(connection, arena.allocate(1 + RepairProtocol.VALUE_BYTES), 0);
        } catch (KernelException e) {
            if (e.is(Errno.ECONNRESET)) {
                return 0;
            }
            throw e;
        } finally {
            kernel.close(connection);
        }
    }

    @Test
    void theClientHandsNothingToAHelperThatRunsAsAnotherUid() throws Exception {
        assertThatThrownBy(() -> RepairHelperClient.connect(helper.socket(), NOBODY))
                .isInstanceOf(RepairHelperException.class).hasMessageContaining("runs as uid 0")
                .hasMessageContaining("not uid " + NOBODY);
        assertThat(log).noneMatch(e -> e.kind().equals("done") || e.kind().equals("refused"));
    }

    @Test
    void aDescriptorThatIsNotATcpSocketIsRefusedAndClosesTheConnection() throws Exception {
        Path file = dir.resolve("not-a-socket");
        int fd = kernel.open(file.toString(), OpenFlags.CREAT | OpenFlags.RDWR | OpenFlags.CLOEXEC, 0600);
        try (RepairHelperClient client = RepairHelperClient.connect(helper.socket())) {
            assertThatThrownBy(() -> client.setRepair(SocketConstants.TCP_REPAIR_ON, fd))
                    .isInstanceOf(RepairHelperException.class).hasMessageContaining("closed the connection");
            assertThatThrownBy(() -> client.setRepair(SocketConstants.TCP_REPAIR_OFF, fd))
                    .isInstanceOf(RepairHelperException.class).hasMessageContaining("is closed");
        } finally {
            kernel.close(fd);
            Files.delete(file);
        }
        assertThat(log).anyMatch(e -> e.kind().equals("refused") && e.detail().contains("not a TCP socket"));
    }

    @Test
    void anUnknownCommandIsAnsweredByClosingTheConnection() throws Exception {
        int tcp = kernel.socket(SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0);
        int connection = kernel.socket(SocketConstants.AF_UNIX, SocketConstants.SOCK_STREAM, 0);
        try (Arena arena = Arena.ofConfined()) {
            kernel.connect(connection, UnixDomainSocketAddress.of(helper.socket()));
            MemorySegment command = arena.allocateFrom(JAVA_BYTE, (byte) 42);
            kernel.sendmsg(connection, command, new int[] {tcp}, SocketConstants.MSG_NOSIGNAL);
            assertThat(kernel.recv(connection, arena.allocate(1), 0)).as("end of stream").isZero();
        } finally {
            kernel.close(connection);
            kernel.close(tcp);
        }
        assertThat(log).anyMatch(e -> e.kind().equals("refused") && e.detail().contains("unknown command 42"));
    }

    @Test
    void theExtensionForcesBufferSizesPastTheSysctlLimit() throws Exception {
        int tcp = kernel.socket(SocketConstants.AF_INET, SocketConstants.SOCK_STREAM, 0);
        try (RepairHelperClient client = RepairHelperClient.connect(helper.socket());
                Arena arena = Arena.ofConfined()) {
            int wmemMax = Integer.parseInt( // by lines: KernelBuffers.sysctl says why
                    Files.readAllLines(Path.of("/proc/sys/net/core/wmem_max")).getFirst().trim());
            client.forceSendBuffer(wmemMax + 4096, tcp);
            client.forceReceiveBuffer(wmemMax + 8192, tcp);
            MemorySegment value = arena.allocate(JAVA_INT);
            kernel.getsockopt(tcp, SocketConstants.SOL_SOCKET, SocketConstants.SO_SNDBUF, value);
            assertThat(value.get(JAVA_INT, 0)).isEqualTo(2 * (wmemMax + 4096)); // the kernel doubles it
            kernel.getsockopt(tcp, SocketConstants.SOL_SOCKET, SocketConstants.SO_RCVBUF, value);
            assertThat(value.get(JAVA_INT, 0)).isEqualTo(2 * (wmemMax + 8192));
        } finally {
            kernel.close(tcp);
        }
    }
}
