package dev.kdirect.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * Under {@code --json} every command's errors are one JSON object {@code {"error", "errno", "hint"}} on standard
 * error, parsed here by Jackson (not the CLI's own writer); and every command's help lists its exit statuses.
 * The commands are read from the CLI's own model, so a new command is covered without a change here.
 */
class JsonErrorsTest {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** Every command's path, e.g. [kexec, check], the groups (kexec, tcp-handoff) and kdirect itself included. */
    private static List<List<String>> commands() {
        List<List<String>> paths = new ArrayList<>();
        collect(new CommandLine(new Main()), new ArrayList<>(), paths);
        return paths;
    }

    private static void collect(CommandLine command, List<String> path, List<List<String>> paths) {
        paths.add(path);
        command.getSubcommands().forEach((name, sub) -> {
            if (!name.equals("help")) {
                List<String> longer = new ArrayList<>(path);
                longer.add(name);
                collect(sub, longer, paths);
            }
        });
    }

    /** Parses standard error as exactly one JSON object with the three keys. */
    static JsonNode error(CliRun r) throws Exception {
        JsonNode error = JSON.readTree(r.err());
        assertThat(error.isObject()).as(r.err()).isTrue();
        List<String> keys = new ArrayList<>();
        error.fieldNames().forEachRemaining(keys::add);
        assertThat(keys).as(r.err()).containsExactly("error", "errno", "hint");
        assertThat(error.get("error").isTextual()).as(r.err()).isTrue();
        assertThat(error.get("hint").isTextual()).as(r.err()).isTrue();
        assertThat(error.get("errno").isNull() || error.get("errno").isTextual()).as(r.err()).isTrue();
        return error;
    }

    @Test
    void everyCommandReportsABadArgumentAsOneJsonObject() throws Exception {
        List<List<String>> commands = commands();
        assertThat(commands).hasSizeGreaterThanOrEqualTo(15);
        for (List<String> command : commands) {
            List<String> args = new ArrayList<>(command);
            args.addAll(List.of("--no-such-option", "--json"));
            CliRun r = CliRun.of(args.toArray(String[]::new));
            assertThat(r.exit()).as("%s: %s", args, r.err()).isEqualTo(FriendlyErrors.USAGE);
            assertThat(r.out()).as("%s writes errors to stderr only", args).isEmpty();
            JsonNode error = error(r);
            // picocli names a missing required option before an unknown one
            assertThat(error.get("error").asText()).as("%s", args).containsAnyOf("--no-such-option",
                    "Missing required");
            assertThat(error.get("errno").isNull()).as("a usage error has no errno: %s", args).isTrue();
            assertThat(error.get("hint").asText()).contains(String.join(" ", command) + " --help");
        }
    }

    @Test
    void aFailureAfterParsingIsOneJsonObjectWithItsErrnoToo() throws Exception {
        CliRun missing = CliRun.of("kexec", "load", "--kernel", "/nonexistent/bzImage", "--json");
        assertThat(missing.exit()).isEqualTo(FriendlyErrors.KERNEL_ERROR);
        assertThat(missing.out()).isEmpty();
        assertThat(error(missing).get("errno").asText()).isEqualTo("ENOENT");

        int closedPort;
        try (ServerSocketChannel listener = ServerSocketChannel.open()) { // a loopback port nobody listens on now
            closedPort = ((InetSocketAddress) listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(),
                    0)).getLocalAddress()).getPort();
        }
        CliRun refused = CliRun.of("tcp-handoff", "client", "--connect", "127.0.0.1:" + closedPort, "--json");
        assertThat(refused.exit()).as(refused.err()).isEqualTo(FriendlyErrors.KERNEL_ERROR);
        assertThat(refused.out()).isEmpty();
        assertThat(error(refused).get("errno").asText()).isEqualTo("ECONNREFUSED");

        CliRun samples = CliRun.of("pmem-log", "--crash-test", "--samples", "0", "--json");
        assertThat(samples.exit()).isEqualTo(FriendlyErrors.USAGE);
        assertThat(error(samples).get("error").asText()).contains("1 or more, not 0");
    }

    @Test
    void everyCommandsHelpListsItsExitStatuses() {
        for (List<String> command : commands()) {
            List<String> args = new ArrayList<>(command);
            args.add("--help");
            CliRun r = CliRun.of(args.toArray(String[]::new));
            assertThat(r.exit()).isZero();
            assertThat(r.out()).as("%s", args).contains("Exit status").containsPattern("(?m)^\\s+0\\s+\\S")
                    .containsPattern("(?m)^\\s+2\\s+bad options");
        }
    }
}
