package dev.kdirect.examples.cli;

import dev.kdirect.FeatureUnavailableException;
import dev.kdirect.KernelException;
import dev.kdirect.UnsafeFileException;
import dev.kdirect.examples.handoff.ChildProcessException;
import dev.kdirect.tcprepair.MigrationException;
import dev.kdirect.tcprepair.NetworkLockException;
import dev.kdirect.tcprepair.RepairHelperException;
import picocli.CommandLine;

/**
 * Turns an exception from a command into one message that says what went wrong and what to do. The stack
 * trace is printed only with {@code KDIRECT_DEBUG=1}.
 */
final class FriendlyErrors implements CommandLine.IExecutionExceptionHandler {
    static final int KERNEL_ERROR = 4;
    static final int UNSAFE_FILE = 6;
    static final int UNAVAILABLE = 3;
    static final int BUG = 70; // EX_SOFTWARE

    @Override
    public int handleExecutionException(Exception e, CommandLine commandLine, CommandLine.ParseResult parsed) {
        var err = commandLine.getErr();
        String command = commandLine.getCommandName();
        if ("1".equals(System.getenv("KDIRECT_DEBUG"))) {
            e.printStackTrace(err);
        }
        if (e instanceof KernelException k) {
            err.println(command + ": " + k.getMessage());
            return KERNEL_ERROR;
        }
        if (e instanceof UnsafeFileException u) {
            err.println(command + ": refused: " + u.getMessage());
            return UNSAFE_FILE;
        }
        if (e instanceof FeatureUnavailableException u) {
            err.println(command + ": " + u.getMessage());
            return UNAVAILABLE;
        }
        if (e instanceof NetworkLockException || e instanceof MigrationException || e instanceof ChildProcessException) {
            err.println(command + ": " + e.getMessage());
            return e instanceof NetworkLockException ? UNAVAILABLE : e instanceof ChildProcessException ? 1
                    : KERNEL_ERROR;
        }
        if (e instanceof RepairHelperException) {
            err.println(command + ": " + e.getMessage());
            return UNAVAILABLE;
        }
        if (e instanceof IllegalArgumentException) {
            err.println(command + ": " + e.getMessage());
            return CommandLine.ExitCode.USAGE;
        }
        err.println(command + ": unexpected " + e + " (a kdirect bug: rerun with KDIRECT_DEBUG=1 and report it)");
        return BUG;
    }
}
