package dev.kdirect.examples.cli;

import dev.kdirect.Binding;
import dev.kdirect.Feature;
import dev.kdirect.FeatureStatus;
import dev.kdirect.KernelRelease;
import dev.kdirect.Kernels;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code kdirect doctor}: per feature, real or simulated here, the evidence, and what to do. */
@Command(name = "doctor", mixinStandardHelpOptions = true,
        description = {"Probes each kernel feature on this machine and reports whether kdirect uses the real kernel"
                + " or the simulated one, the evidence, and what to do to make it real."},
        exitCodeListHeading = "Exit status:%n",
        exitCodeList = {FriendlyErrors.EXIT_0,
            FriendlyErrors.EXIT_USAGE,
            "3:a feature named by --require is not real here",
            FriendlyErrors.EXIT_BUG})
final class DoctorCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print the report as JSON.")
    boolean json;

    @Option(names = "--require", split = ",", paramLabel = "FEATURE",
            description = "Fail (exit 3) unless these features are real: pkeys, tcp-repair, kexec, memory-failure,"
                    + " dax-pmem, or all.")
    List<String> require = List.of();

    @Override
    public Integer call() {
        Set<Feature> required = requiredFeatures(); // parse first: a typo fails before any probe runs
        Binding binding = Binding.configured();
        List<FeatureStatus> statuses = new ArrayList<>();
        for (Feature f : Feature.values()) {
            statuses.add(f.status());
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println(json ? Json.write(report(binding, statuses)) : text(binding, statuses));
        out.flush();
        List<String> missing = statuses.stream().filter(s -> required.contains(s.feature()) && !effectivelyReal(binding, s))
                .map(s -> s.feature().id()).toList();
        if (!missing.isEmpty()) {
            throw new CommandFailure(FriendlyErrors.UNAVAILABLE, "required but not real here: "
                    + String.join(", ", missing), null, "the report says, per feature, what to do to make it real");
        }
        return 0;
    }

    private Set<Feature> requiredFeatures() {
        if (require.contains("all")) {
            return EnumSet.allOf(Feature.class);
        }
        EnumSet<Feature> set = EnumSet.noneOf(Feature.class);
        require.stream().map(Feature::parse).forEach(set::add);
        return set;
    }

    private static boolean effectivelyReal(Binding binding, FeatureStatus status) {
        return binding.isReal() && status.real();
    }

    private static Map<String, Object> report(Binding binding, List<FeatureStatus> statuses) {
        Map<String, Object> features = new LinkedHashMap<>();
        for (FeatureStatus s : statuses) {
            Map<String, Object> f = new LinkedHashMap<>();
            f.put("title", s.feature().title());
            f.put("mode", effectivelyReal(binding, s) ? "real" : "simulated");
            f.put("real", effectivelyReal(binding, s));
            f.put("probe", s.real() ? "passed" : "failed"); // the real kernel's answer, whatever binding is chosen
            f.put("evidence", s.evidence());
            f.put("action", binding.isReal() ? s.action() : "unset KDIRECT_BINDING to use the real kernel");
            features.put(s.feature().id(), f);
        }
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("configuredBinding", binding.id()); // "binding" elsewhere: the one a command ran on
        report.put("kernelRelease", KernelRelease.running().text());
        report.put("arch", System.getProperty("os.arch"));
        report.put("euid", Kernels.real().geteuid());
        report.put("java", Runtime.version().toString());
        report.put("features", features);
        return report;
    }

    private static String text(Binding binding, List<FeatureStatus> statuses) {
        StringBuilder out = new StringBuilder();
        out.append("kdirect doctor: binding ").append(binding.id()).append(", Linux ").append(KernelRelease.running())
                .append(" (").append(System.getProperty("os.arch")).append("), euid ").append(Kernels.real().geteuid())
                .append(", Java ").append(Runtime.version().feature()).append("\n\n");
        if (!binding.isReal()) {
            out.append("Every feature runs on the simulated kernel (forced by KDIRECT_BINDING / -Dkdirect.binding);\n"
                    + "the lines below say what the real kernel offers.\n\n");
        }
        for (FeatureStatus s : statuses) {
            String mode = effectivelyReal(binding, s) ? "real" : "simulated";
            out.append(String.format("%-15s %-10s %s%n", s.feature().id(), mode, s.evidence()));
            if (!s.real()) {
                out.append(String.format("%-26s to make it real: %s%n", "", s.action()));
            }
        }
        return out.toString().stripTrailing();
    }
}
