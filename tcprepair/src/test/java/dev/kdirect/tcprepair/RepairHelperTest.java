package dev.kdirect.tcprepair;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import dev.kdirect.OpenFlags;
import dev.kdirect.SocketConstants;
import dev.kdirect.contract.ChildJvm;
import dev.kdirect.contract.Outcomes;
import dev.kdirect.testing.RequiresRealKernel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The repair helper on the real kernel, run by this (root) JVM: a service JVM with no capability at all (setpriv to
 * uid 65534, empty bounding set) checkpoints and restores a live connection through it, while a helper that does not
 * allow that uid refuses it; a client refuses a helper running as an unexpected uid before handing it anything; the
 * helper refuses descriptors that are not TCP sockets and commands it does not know by closing the connection (the
 * protocol's failure), and sets the forced buffer sizes of the kdirect extension.
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
                    .containsEntry("round-trip", "ok");
            assertThat(outcome.get("refused-helper")).as(output).contains("closed the connection");
            assertThat(refusingLog).as("the root-only helper's log").anyMatch(e -> e.kind().equals("refused")
                    && e.client().uid() == NOBODY);
            assertThat(refusingLog).noneMatch(e -> e.kind().equals("done"));
        }
        // what the service asked: buffers forced and repair on for the restore, on and off for the freeze
        List<String> done = log.stream().filter(e -> e.kind().equals("done") && e.client().uid() == NOBODY)
                .map(RepairHelper.Event::detail).toList();
        assertThat(done).anyMatch(d -> d.startsWith("TCP_REPAIR on on [/127.0.0.1:"))
                .anyMatch(d -> d.startsWith("SO_SNDBUFFORCE")).anyMatch(d -> d.startsWith("SO_RCVBUFFORCE"))
                .anyMatch(d -> d.startsWith("TCP_REPAIR off"));
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
            int wmemMax = Integer.parseInt(Files.readString(Path.of("/proc/sys/net/core/wmem_max")).trim());
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
