package dev.kdirect.examples.cli;

import dev.kdirect.KernelException;
import dev.kdirect.SimulatedReboot;
import dev.kdirect.kexec.BzImage;
import dev.kdirect.kexec.Kexec;
import dev.kdirect.kexec.KexecState;
import dev.kdirect.kexec.KexecValidator;
import dev.kdirect.kexec.LoadRequest;
import dev.kdirect.kexec.RebootConfirmation;
import dev.kdirect.rules.BzImageRules;
import dev.kdirect.rules.Refusal;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kdirect kexec}: status, check, load, unload and reboot through kexec_file_load. */
@Command(name = "kexec", mixinStandardHelpOptions = true,
        description = {"Loads a Linux kernel with kexec_file_load and reboots into it, without firmware or boot"
                + " loader. Real where the kernel has CONFIG_KEXEC_FILE and you have CAP_SYS_BOOT (sudo), simulated"
                + " elsewhere (see kdirect doctor)."},
        exitCodeListHeading = "Exit status:%n",
        exitCodeList = {FriendlyErrors.EXIT_0, FriendlyErrors.EXIT_USAGE, FriendlyErrors.EXIT_UNAVAILABLE,
            FriendlyErrors.EXIT_ERRNO, FriendlyErrors.EXIT_BUG},
        subcommands = {KexecCommand.Status.class, KexecCommand.Check.class, KexecCommand.Load.class,
            KexecCommand.Unload.class, KexecCommand.Reboot.class})
final class KexecCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** --json and the output stream, shared by the subcommands. */
    static final class Output {
        @Spec(Spec.Target.MIXEE)
        CommandSpec spec;

        @Option(names = "--json", description = "Print the result as JSON.")
        boolean json;

        void print(Map<String, Object> result, String text) {
            PrintWriter out = spec.commandLine().getOut();
            out.println(json ? Json.write(result) : text);
            out.flush();
        }
    }

    /** The options that name what to load. */
    static final class Image {
        @Option(names = "--kernel", required = true, paramLabel = "BZIMAGE", description = "The kernel image.")
        Path kernel;

        @Option(names = "--initrd", paramLabel = "FILE", description = "An initramfs to pass to it.")
        Path initrd;

        @Option(names = "--append", paramLabel = "CMDLINE", defaultValue = "",
                description = "The new kernel's command line.")
        String commandLine;

        @Option(names = "--crash", description = "Load it as the crash kernel (booted on panic).")
        boolean crash;

        LoadRequest request() {
            LoadRequest r = new LoadRequest(kernel, Optional.ofNullable(initrd), commandLine, false);
            return crash ? r.asCrashKernel() : r;
        }
    }

    @Command(name = "status", mixinStandardHelpOptions = true, description = "What is loaded, and what may load.",
            exitCodeListHeading = "Exit status:%n",
            exitCodeList = {FriendlyErrors.EXIT_0, FriendlyErrors.EXIT_USAGE, FriendlyErrors.EXIT_ERRNO,
                FriendlyErrors.EXIT_BUG})
    static final class Status implements java.util.concurrent.Callable<Integer> {
        @Mixin
        Output output;

        @Override
        public Integer call() {
            Kexec kexec = Kexec.system();
            KexecState s = kexec.state();
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("binding", kexec.kernel().binding().id());
            r.put("loaded", s.loaded());
            r.put("crashLoaded", s.crashLoaded());
            r.put("crashSize", s.crashSize());
            r.put("loadDisabled", s.loadDisabled());
            r.put("lockdown", s.lockdown());
            output.print(r, String.format("kexec on %s: kernel %s, crash kernel %s (crashkernel= reserves %d bytes),"
                    + " kexec_load_disabled %s, lockdown %s", kexec.kernel().binding().id(),
                    s.loaded() ? "loaded" : "not loaded", s.crashLoaded() ? "loaded" : "not loaded", s.crashSize(),
                    s.loadDisabled() ? 1 : 0, s.lockdown()));
            return 0;
        }
    }

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = {"Applies the kernel's checks to a bzImage in the kernel's order, without loading it, and"
                    + " prints its header. A file that is no x86-64 bzImage (missing, not a regular file, empty,"
                    + " unreadable, or another format) is refused with the errno kexec_file_load would give, as"
                    + " kdirect kexec load does, and nothing else is printed."},
            exitCodeListHeading = "Exit status:%n",
            exitCodeList = {"0:the kernel's checks pass: it would load", FriendlyErrors.EXIT_USAGE,
                "4:the kernel would refuse it, or the file cannot be read (the message names the errno)",
                FriendlyErrors.EXIT_BUG})
    static final class Check implements java.util.concurrent.Callable<Integer> {
        @Mixin
        Output output;

        @Mixin
        Image image;

        @Override
        public Integer call() throws IOException {
            BzImage header = Kexec.probe(image.kernel); // no bzImage: the error load gives, and no header
            Optional<Refusal> refusal = KexecValidator.check(image.request());
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("kernel", image.kernel.toString());
            r.put("length", header.length());
            r.put("protocol", header.protocolVersionText());
            r.put("setupSectors", header.setupSectors());
            r.put("loadflags", header.loadflags());
            r.put("xloadflags", header.xloadflags());
            r.put("cmdlineSize", header.cmdlineSize());
            r.put("maxCommandLine", Math.max(0, BzImageRules.maxCommandLineLength(header.cmdlineSize()) - 1));
            r.put("initSize", header.initSize());
            r.put("kernelAlignment", header.kernelAlignment());
            r.put("preferredAddress", header.preferredAddress());
            r.put("version", header.kernelVersion().orElse(""));
            r.put("peSignature", header.hasPeSignature());
            r.put("verdict", refusal.map(x -> x.errno().name()).orElse("loadable"));
            r.put("kernelMessage", refusal.map(Refusal::message).orElse(""));
            r.put("reason", refusal.map(Refusal::rule).orElse(""));
            String text = String.format("%s: %s%n  boot protocol %s, %d setup sectors, xloadflags 0x%x,"
                    + " command line up to %d bytes, init_size %d, %s%n  verdict: %s", image.kernel,
                    header.kernelVersion().orElse("(no version string)"), header.protocolVersionText(),
                    header.setupSectors(), header.xloadflags(), (Long) r.get("maxCommandLine"), header.initSize(),
                    header.hasPeSignature() ? "signed (PE signature appended)" : "unsigned",
                    refusal.map(x -> x.errno() + ": " + x.rule()
                            + (x.message().isEmpty() ? "" : " (kernel log: \"" + x.message() + "\")"))
                            .orElse("the kernel's checks pass"));
            output.print(r, text);
            return refusal.isPresent() ? FriendlyErrors.KERNEL_ERROR : 0;
        }
    }

    @Command(name = "load", mixinStandardHelpOptions = true,
            description = "Validates the image, then loads it with kexec_file_load (needs CAP_SYS_BOOT: sudo).",
            exitCodeListHeading = "Exit status:%n",
            exitCodeList = {"0:loaded", FriendlyErrors.EXIT_USAGE, FriendlyErrors.EXIT_UNAVAILABLE,
                "4:the kernel refused it, or a file cannot be read (the message names the errno)",
                FriendlyErrors.EXIT_BUG})
    static final class Load implements java.util.concurrent.Callable<Integer> {
        @Mixin
        Output output;

        @Mixin
        Image image;

        @Override
        public Integer call() throws KernelException, IOException {
            Kexec kexec = Kexec.system();
            kexec.load(image.request());
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("binding", kexec.kernel().binding().id());
            r.put("loaded", image.crash ? kexec.state().crashLoaded() : kexec.state().loaded());
            r.put("crash", image.crash);
            output.print(r, (image.crash ? "crash kernel " : "kernel ") + image.kernel + " loaded on "
                    + kexec.kernel().binding().id() + (image.crash ? "" : "; boot it with: kdirect kexec reboot"
                    + " --yes-reboot"));
            return 0;
        }
    }

    @Command(name = "unload", mixinStandardHelpOptions = true, description = "Unloads the loaded kernel.",
            exitCodeListHeading = "Exit status:%n",
            exitCodeList = {"0:unloaded, or nothing was loaded", FriendlyErrors.EXIT_USAGE,
                FriendlyErrors.EXIT_UNAVAILABLE, FriendlyErrors.EXIT_ERRNO, FriendlyErrors.EXIT_BUG})
    static final class Unload implements java.util.concurrent.Callable<Integer> {
        @Mixin
        Output output;

        @Option(names = "--crash", description = "Unload the crash kernel instead.")
        boolean crash;

        @Override
        public Integer call() throws KernelException {
            Kexec kexec = Kexec.system();
            if (crash) {
                kexec.unloadCrash();
            } else {
                kexec.unload();
            }
            output.print(Map.of("unloaded", crash ? "crash" : "kernel"), (crash ? "crash kernel" : "kernel")
                    + " unloaded (or none was loaded)");
            return 0;
        }
    }

    @Command(name = "reboot", mixinStandardHelpOptions = true,
            description = {"Syncs file systems and reboots into the loaded kernel. Without --yes-reboot it only says"
                    + " what it would do."},
            exitCodeListHeading = "Exit status:%n",
            exitCodeList = {"0:rebooted (not seen on the real kernel), or the dry run", "1:the simulated kexec"
                    + " reboot hung", "2:bad options, or no kernel is loaded", FriendlyErrors.EXIT_UNAVAILABLE,
                FriendlyErrors.EXIT_ERRNO, FriendlyErrors.EXIT_BUG})
    static final class Reboot implements java.util.concurrent.Callable<Integer> {
        @Mixin
        Output output;

        @Option(names = "--yes-reboot", description = "Really reboot now: every process on the machine ends.")
        boolean confirmed;

        @Override
        public Integer call() throws KernelException {
            Kexec kexec = Kexec.system();
            if (!kexec.state().loaded()) {
                throw new IllegalArgumentException("no kernel is loaded: load one first (kdirect kexec load --kernel"
                        + " BZIMAGE ...)");
            }
            if (!confirmed) {
                output.print(Map.of("dryRun", true), "dry run: would sync file systems and reboot into the loaded"
                        + " kernel on " + kexec.kernel().binding().id() + "; add --yes-reboot to do it");
                return 0;
            }
            try {
                kexec.reboot(RebootConfirmation.REBOOT_NOW);
            } catch (SimulatedReboot boot) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("simulated", true);
                r.put("hung", boot.hung());
                r.put("kernelVersion", boot.kernelVersion());
                r.put("commandLine", boot.commandLine());
                r.put("initrdSha256", boot.initrdSha256());
                output.print(r, boot.getMessage());
                return boot.hung() ? 1 : 0;
            }
            return 0; // not reached on the real kernel
        }
    }
}
