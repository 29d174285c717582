package dev.kdirect.examples.cli;

import dev.kdirect.Errno;
import dev.kdirect.FeatureUnavailableException;
import dev.kdirect.KernelException;
import dev.kdirect.UnsafeFileException;
import dev.kdirect.examples.handoff.ChildProcessException;
import dev.kdirect.tcprepair.MigrationException;
import dev.kdirect.tcprepair.NetworkLockException;
import dev.kdirect.tcprepair.RepairHelperException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.FileSystemException;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine;

/**
 * Turns an exception from a command, or a bad option, into one message that says what went wrong, the errno
 * behind it where a system call or file operation failed, and what to do: one line on standard error, or with
 * {@code --json} one JSON object {@code {"error", "errno", "hint"}} on standard error (standard output keeps only
 * results). The stack trace is printed only with {@code KDIRECT_DEBUG=1}.
 */
final class FriendlyErrors implements CommandLine.IExecutionExceptionHandler, CommandLine.IParameterExceptionHandler {
    static final int FAILED = 1;
    static final int USAGE = CommandLine.ExitCode.USAGE;
    static final int UNAVAILABLE = 3;
    static final int KERNEL_ERROR = 4;
    static final int UNSAFE_FILE = 6;
    static final int BUG = 70; // EX_SOFTWARE

    /** The exit statuses every command shares, for the commands' help ({@code exitCodeList}). */
    static final String EXIT_0 = "0:done";
    static final String EXIT_USAGE = "2:bad options or arguments";
    static final String EXIT_UNAVAILABLE = "3:a feature (or tool) it needs is not available here";
    static final String EXIT_ERRNO = "4:a system call or file operation failed (the message names the errno)";
    static final String EXIT_UNSAFE = "6:a file is unsafe: a symbolic link, not a regular file, or another user's";
    static final String EXIT_BUG = "70:a kdirect bug (rerun with KDIRECT_DEBUG=1 and report it)";

    /** What to do about a failed file operation, by errno. */
    private static final Map<Errno, String> FILE_HINTS = Map.of(
            Errno.ENOENT, "check the path",
            Errno.EACCES, "check the file's mode and owner, or run with sudo",
            Errno.EPERM, "check the file's mode and owner, or run with sudo",
            Errno.EISDIR, "name a file, not a directory",
            Errno.ENOTDIR, "a part of the path is not a directory",
            Errno.ENOSPC, "free some space on that file system");

    private record Failure(int exitCode, String error, Errno errno, String hint) {
    }

    private final boolean json;

    /** @param json whether the command line asked for JSON ({@code --json} anywhere in it) */
    FriendlyErrors(boolean json) {
        this.json = json;
    }

    @Override
    public int handleExecutionException(Exception e, CommandLine commandLine, CommandLine.ParseResult parsed) {
        if ("1".equals(System.getenv("KDIRECT_DEBUG"))) {
            e.printStackTrace(commandLine.getErr());
        }
        return report(commandLine, describe(e));
    }

    @Override
    public int handleParseException(CommandLine.ParameterException e, String[] args) {
        CommandLine commandLine = e.getCommandLine();
        String help = "see " + commandLine.getCommandSpec().qualifiedName() + " --help";
        return report(commandLine, new Failure(USAGE, e.getMessage(), null, help));
    }

    private static Failure describe(Exception e) {
        return switch (e) {
            case CommandFailure f -> new Failure(f.exitCode(), f.getMessage(), f.errno(), f.hint());
            case KernelException k -> new Failure(KERNEL_ERROR, k.syscall() + "(" + k.arguments() + ") failed: "
                    + k.errnoName() + " (" + k.errnoDescription() + ")", k.error(), k.hint());
            case UnsafeFileException u -> new Failure(UNSAFE_FILE, "refused: " + u.getMessage(), null, "");
            case FeatureUnavailableException u -> new Failure(UNAVAILABLE, u.getMessage(), errnoBehind(u), "");
            case NetworkLockException n -> new Failure(UNAVAILABLE, n.getMessage(), errnoBehind(n), "");
            case RepairHelperException r -> new Failure(UNAVAILABLE, r.getMessage(), errnoBehind(r), "");
            case ChildProcessException c -> new Failure(FAILED, c.getMessage(), errnoBehind(c), "");
            case MigrationException m -> new Failure(KERNEL_ERROR, m.getMessage(), errnoBehind(m), "");
            case IOException io -> fileFailure(io);
            case IllegalArgumentException a -> new Failure(USAGE, a.getMessage(), null, "");
            default -> new Failure(BUG, "unexpected " + e, null, "a kdirect bug: rerun with KDIRECT_DEBUG=1 and"
                    + " report it");
        };
    }

    /** A file operation of the JDK failed: its errno, the file, and strerror's words. */
    private static Failure fileFailure(IOException io) {
        Errno errno = Errno.of(io);
        String what = io instanceof FileSystemException f && f.getFile() != null
                ? f.getFile() + (f.getOtherFile() == null ? "" : " -> " + f.getOtherFile()) + ": " + errno.description()
                : io.getMessage() == null ? errno.description() : io.getMessage();
        return new Failure(KERNEL_ERROR, what + " (" + errno.name() + ")", errno, FILE_HINTS.getOrDefault(errno, ""));
    }

    /** The errno of the first KernelException among the causes, or null. */
    private static Errno errnoBehind(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof KernelException k) {
                return k.error();
            }
        }
        return null;
    }

    private int report(CommandLine commandLine, Failure f) {
        PrintWriter err = commandLine.getErr();
        if (json) {
            Map<String, Object> error = new LinkedHashMap<>();
            error.put("error", f.error());
            error.put("errno", f.errno() == null ? null : f.errno().name());
            error.put("hint", f.hint());
            err.println(Json.line(error));
        } else {
            String command = commandLine.getCommandSpec().qualifiedName();
            err.println(command + ": " + f.error() + (f.hint().isEmpty() ? "" : ". " + f.hint()));
        }
        err.flush();
        return f.exitCode();
    }
}
