package dev.kdirect.examples.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code ./kdirect}. */
@Command(name = "kdirect", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Direct, safe bindings to Linux kernel features, real or simulated.%n"
                + "Backend: KDIRECT_BINDING=ffm|jna|simulated (default ffm).%n"
                + "Errors: one line on standard error; with --json one JSON object {\"error\", \"errno\","
                + " \"hint\"} on standard error (standard output keeps only results).%n"
                + "kdirect guest [options] -- CMD: runs CMD in a QEMU guest where every feature is real"
                + " (kdirect guest --help).",
        exitCodeListHeading = "Exit status (each command's help lists its own):%n",
        exitCodeList = {FriendlyErrors.EXIT_0, "1:the command's check failed (see its help)", FriendlyErrors.EXIT_USAGE,
            FriendlyErrors.EXIT_UNAVAILABLE, FriendlyErrors.EXIT_ERRNO, "5:pmem-log: the log is damaged",
            FriendlyErrors.EXIT_UNSAFE, "7:pmem-log: the log is full", FriendlyErrors.EXIT_BUG},
        subcommands = {DoctorCommand.class, PkeysVaultCommand.class, KexecCommand.class, PmemLogCommand.class,
            HwpoisonDrillCommand.class, TcpHandoffCommand.class, NettyHandoffCommand.class, RepairHelperCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns the exit code (for tests). */
    static int run(String... args) {
        FriendlyErrors errors = new FriendlyErrors(java.util.List.of(args).contains("--json"));
        return new CommandLine(new Main())
                .setExecutionExceptionHandler(errors)
                .setParameterExceptionHandler(errors)
                .execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** The project version Maven wrote into version.properties (resource filtering). */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws IOException {
            Properties p = new Properties();
            try (InputStream in = Main.class.getResourceAsStream("version.properties")) {
                if (in == null) {
                    throw new IOException("version.properties is missing: build kdirect with Maven");
                }
                p.load(in);
            }
            return new String[] {"kdirect " + p.getProperty("version") + " on Java " + Runtime.version()};
        }
    }
}
