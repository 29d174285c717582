package dev.kdirect.tcprepair;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Binding;
import dev.kdirect.Capability;
import dev.kdirect.Credentials;
import dev.kdirect.Feature;
import dev.kdirect.Kernels;
import dev.kdirect.contract.ChildJvm;
import dev.kdirect.contract.ContractKernels;
import dev.kdirect.contract.Sockets;
import dev.kdirect.testing.RequiresRealKernel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * TCP repair in a process without CAP_NET_ADMIN, the same assertions on the real kernel through FFM and JNA and on
 * the simulated kernel. Only TCP_REPAIR on and off check the capability (tcp_can_repair_sock in net/ipv4/tcp.c,
 * before the value is looked at); the other repair options (TCP_REPAIR_QUEUE, TCP_REPAIR_WINDOW, TCP_TIMESTAMP)
 * fail with EPERM for want of repair mode, not of the capability; SO_SNDBUFFORCE and SO_RCVBUFFORCE check it
 * (sk_setsockopt in net/core/sock.c) while SO_SNDBUF needs nothing; and a checkpoint fails with EPERM and leaves
 * the connection working.
 *
 * <p>The tests run as root, and capabilities are not given up for one call, so the real bindings run the steps
 * ({@link RepairPermissionProgram}) in a child JVM that util-linux's {@code setpriv} starts with CAP_NET_ADMIN out
 * of its bounding and inheritable sets: root execs it with every capability but that one. The simulated kernel
 * runs them in this JVM as a process with the same credentials. Like the other contract suites, a real binding
 * runs where TCP repair is real and fails where it is required and missing; a missing {@code setpriv} is a failure.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Binding.class)
@RequiresRealKernel
class RepairPermissionTest {
    private static final long CHILD_TIMEOUT_SECONDS = 300; // a JVM start under TCG emulation in the guest is slow

    @Parameter
    Binding binding;

    /**
     * The steps' result per binding, kept for the class's other tests: they run once per binding (a child JVM is
     * slow to start in the guest), and each test asserts a part.
     */
    private static final Map<Binding, Steps> RUNS = new ConcurrentHashMap<>();

    private record Steps(String output, Map<String, String> outcome, Throwable failure) {
    }

    private Steps steps;

    @BeforeEach
    void runTheSteps() {
        if (binding.isReal()) {
            ContractKernels.kernel(binding, Feature.TCP_REPAIR); // skips, or fails where required, as the others do
        }
        steps = RUNS.computeIfAbsent(binding, RepairPermissionTest::run);
        if (steps.failure() != null) {
            throw new AssertionError("the steps failed on " + binding + "\n" + steps.output(), steps.failure());
        }
    }

    private static Steps run(Binding binding) {
        String output = "";
        try {
            if (binding.isReal()) {
                output = runInChildWithoutCapNetAdmin(binding);
                assertThat(output).as("the child's credentials").contains("CAP_NET_ADMIN false");
                return new Steps(output, parse(output), null);
            }
            Credentials self = Credentials.ofCurrentProcess(); // less CAP_NET_ADMIN: what setpriv leaves the child
            Credentials child = new Credentials(self.euid(),
                    self.effectiveCapabilities() & ~(1L << Capability.NET_ADMIN.number()), self.umask());
            return new Steps(output, RepairPermissionProgram.outcomes(Kernels.newSimulated(child, List.of())), null);
        } catch (Exception | AssertionError e) {
            return new Steps(output, Map.of(), e);
        }
    }

    @Test
    void onlyTheRepairSwitchChecksCapNetAdminAndBeforeTheValue() {
        assertOutcome("repair-on", "EPERM");
        assertThat(steps.outcome().get("repair-on.hint")).as(steps.output()).contains("CAP_NET_ADMIN");
        assertOutcome("repair-off", "EPERM");
        assertOutcome("repair-bad-value", "EPERM"); // 2 is no valid value: EINVAL with the capability
    }

    /** do_tcp_setsockopt checks tp->repair for these, not the capability: root gets this EPERM outside repair mode. */
    @Test
    void theOtherRepairOptionsFailForWantOfRepairMode() {
        assertOutcome("repair-queue", "EPERM");
        assertOutcome("repair-window", "EPERM");
        assertOutcome("timestamp", "EPERM");
    }

    @Test
    void theForcedBufferSizesNeedCapNetAdminAndTheCappedOneNothing() {
        assertOutcome("sndbufforce", "EPERM");
        assertOutcome("rcvbufforce", "EPERM");
        assertOutcome("sndbuf", "ok");
        assertOutcome("sndbuf-read", "16384"); // the kernel doubles what it is given, for its bookkeeping
    }

    @Test
    void checkpointFailsWithEpermAndLeavesTheConnectionWorking() {
        assertOutcome("checkpoint", "EPERM");
        assertOutcome("after-checkpoint", "still");
    }

    private void assertOutcome(String step, String expected) {
        assertThat(steps.outcome().get(step)).as("%s on %s%n%s", step, binding, steps.output()).isEqualTo(expected);
    }

    private static Map<String, String> parse(String output) {
        Map<String, String> steps = new HashMap<>();
        output.lines().filter(l -> l.startsWith(RepairPermissionProgram.PREFIX)).forEach(l -> {
            String[] stepAndOutcome = l.substring(RepairPermissionProgram.PREFIX.length()).split(" ", 2);
            steps.put(stepAndOutcome[0], stepAndOutcome.length > 1 ? stepAndOutcome[1] : "");
        });
        return steps;
    }

    /** The program's output (stdout and stderr) in a child JVM that lacks CAP_NET_ADMIN; fails if it fails. */
    private static String runInChildWithoutCapNetAdmin(Binding binding) throws Exception {
        List<String> command = List.of("setpriv", "--inh-caps=-net_admin", "--bounding-set=-net_admin", "--",
                ChildJvm.java(), "-Xshare:auto", "-XX:TieredStopAtLevel=1", "--enable-native-access=ALL-UNNAMED",
                "-cp", ChildJvm.classPath(RepairPermissionProgram.class, TcpRepair.class, Sockets.class),
                RepairPermissionProgram.class.getName(), binding.id());
        Path log = Files.createTempFile("repair-permission-", ".log");
        Process process;
        boolean finished;
        String text;
        try {
            try {
                process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            } catch (IOException e) {
                throw new AssertionError("cannot start setpriv (util-linux), needed to drop CAP_NET_ADMIN: " + e, e);
            }
            finished = process.waitFor(CHILD_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            if (!finished) {
                process.destroyForcibly().waitFor();
            }
            text = Files.readString(log);
        } finally {
            Files.delete(log);
        }
        assertThat(finished).as("child JVM finished within %d s%n%s", CHILD_TIMEOUT_SECONDS, text).isTrue();
        assertThat(process.exitValue()).as("child JVM's exit status%n%s", text).isZero();
        return text;
    }
}
