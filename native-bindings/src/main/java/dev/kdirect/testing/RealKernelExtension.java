package dev.kdirect.testing;

import dev.kdirect.Binding;
import dev.kdirect.Feature;
import dev.kdirect.FeatureStatus;
import java.lang.reflect.AnnotatedElement;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * Backs {@link RequiresRealKernel}: disables a test whose features are missing here, and fails (in
 * {@link #beforeEach}) a test whose missing feature is required here.
 */
public final class RealKernelExtension implements ExecutionCondition, BeforeEachCallback {

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        Set<Feature> needed = features(context);
        Set<Feature> required = RequiredFeatures.get();
        List<String> skipped = new ArrayList<>();
        for (Feature f : needed) {
            if (!f.isAvailable() && !required.contains(f)) {
                skipped.add(skipReason(f.status()));
            }
        }
        if (!skipped.isEmpty()) {
            return ConditionEvaluationResult.disabled(String.join(" ", skipped));
        }
        if (!needed.isEmpty() && Binding.configured() == Binding.SIMULATED && !requiredAny(needed, required)) {
            return ConditionEvaluationResult.disabled("needs the real kernel, but the binding is forced to simulated"
                    + " (-D" + Binding.PROPERTY + "=simulated or KDIRECT_BINDING=simulated): run without it");
        }
        return ConditionEvaluationResult.enabled("real here, or required here");
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        features(context).forEach(Feature::ensureAvailable);
    }

    /** What a library user reads for a skipped test: what is missing, how to get it, how to make it required. */
    static String skipReason(FeatureStatus status) {
        Feature f = status.feature();
        return "needs the real kernel's " + f.title() + " (" + f.id() + "), which this process does not have: "
                + status.evidence() + "." + (status.action().isEmpty() ? "" : " To run it: " + status.action() + ".")
                + " Where it must run, set " + RequiredFeatures.ENV + "=" + f.id() + " (or -D" + RequiredFeatures.PROPERTY
                + "=" + f.id() + ") to fail instead of skipping.";
    }

    private static boolean requiredAny(Set<Feature> needed, Set<Feature> required) {
        return needed.stream().anyMatch(required::contains);
    }

    private static Set<Feature> features(ExtensionContext context) {
        EnumSet<Feature> features = EnumSet.noneOf(Feature.class);
        collect(context.getTestClass(), features);
        collect(context.getTestMethod(), features);
        return features;
    }

    private static void collect(Optional<? extends AnnotatedElement> element, Set<Feature> into) {
        element.flatMap(e -> AnnotationSupport.findAnnotation(e, RequiresRealKernel.class))
                .ifPresent(a -> into.addAll(List.of(a.value())));
    }
}
