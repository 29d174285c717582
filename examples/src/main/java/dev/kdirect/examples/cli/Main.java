package dev.kdirect.examples.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code ./kdirect}. */
@Command(name = "kdirect", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Direct, safe bindings to Linux kernel features, real or simulated.%n"
                + "Backend: KDIRECT_BINDING=ffm|jna|simulated (default ffm).",
        subcommands = {DoctorCommand.class, PkeysVaultCommand.class, KexecCommand.class, PmemLogCommand.class,
            HwpoisonDrillCommand.class, TcpHandoffCommand.class, RepairHelperCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns the exit code (for tests). */
    static int run(String... args) {
        return new CommandLine(new Main())
                .setExecutionExceptionHandler(new FriendlyErrors())
                .execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"kdirect " + (v == null ? "development build" : v)
                    + " on Java " + Runtime.version()};
        }
    }
}
