package dev.kdirect.fuzz;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Binding;
import dev.kdirect.Feature;
import dev.kdirect.Kernel;
import dev.kdirect.Kernels;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The harness itself, on a toy fuzzer whose model is wrong on purpose in known places. */
class DifferentialTest {
    @TempDir
    Path dir;

    private final Kernel real = Kernels.of(Binding.FFM);

    /** The world: which kernel, and how many steps ran so far. */
    static final class Counter implements AutoCloseable {
        final boolean model;
        int steps;

        Counter(Kernel kernel) {
            this.model = kernel.binding() == Binding.SIMULATED;
        }

        @Override
        public void close() {
        }
    }

    /** Answers its number, except that the model answers 13 wrongly, once 3 or more steps ran. */
    record Answer(int number) implements Step<Counter> {
        @Override
        public String apply(Counter world) {
            world.steps++;
            return world.model && number == 13 && world.steps > 3 ? "wrong" : Integer.toString(number);
        }
    }

    /** The model cannot decide 7 (refuses), and throws a JDK exception on 99. */
    record Odd(int number) implements Step<Counter> {
        @Override
        public String apply(Counter world) {
            if (world.model && number == 7) {
                throw new UnsupportedOperationException("seven is undecidable (rule 7), length 4096");
            }
            if (world.model && number == 99) {
                throw new IllegalArgumentException("ninety-nine");
            }
            return "ok";
        }
    }

    /** Differs on 42, where something outside the program took part (as another thread mapping into a hole). */
    record Raced(int number) implements Step<Counter> {
        @Override
        public String apply(Counter world) {
            return world.model || number != 42 ? "ok" : "raced";
        }
    }

    static final class Toy implements Fuzzer<Counter> {
        @Override
        public String name() {
            return "toy";
        }

        @Override
        public Feature feature() {
            return Feature.PKEYS;
        }

        @Override
        public List<Step<Counter>> program(Random random) {
            return random.ints(8, 0, 20).<Step<Counter>>mapToObj(Answer::new).toList();
        }

        @Override
        public Counter open(Kernel kernel, Path dir) {
            return new Counter(kernel);
        }

        @Override
        public String interferenceDuring(Counter realWorld, Step<Counter> step) {
            return step instanceof Raced r ? "a race on " + r.number() : null;
        }
    }

    @Test
    void aDisagreementIsShrunkToTheStepsThatCauseIt() throws Exception {
        List<Step<Counter>> program = List.of(new Answer(1), new Answer(2), new Answer(3), new Answer(4),
                new Answer(13), new Answer(5));
        assertThat(Differential.compare(new Toy(), program, real, dir))
                .isEqualTo(new Verdict(Verdict.Kind.DISAGREED, 4, "13", "wrong"));
        // three steps must run before the 13 for it to go wrong; the 5 after it is cut
        assertThat(Differential.shrink(new Toy(), program, real, dir)).hasSize(4).last().isEqualTo(new Answer(13));
    }

    @Test
    void refusalsAreCountedByRuleAndJdkExceptionsFromTheModelAreDisagreements() throws Exception {
        assertThat(Differential.compare(new Toy(), List.of(new Odd(1), new Odd(7)), real, dir)).isEqualTo(
                new Verdict(Verdict.Kind.REFUSED, 1, "ok", "seven is undecidable (rule N), length N"));
        Verdict jdk = Differential.compare(new Toy(), List.of(new Odd(99)), real, dir);
        assertThat(jdk.kind()).isEqualTo(Verdict.Kind.DISAGREED);
        assertThat(jdk.model()).contains("IllegalArgumentException", "ninety-nine");
    }

    @Test
    void aDifferenceFromOutsideTheProgramIsInterferenceNotADisagreement() throws Exception {
        assertThat(Differential.compare(new Toy(), List.of(new Raced(1), new Raced(42), new Raced(2)), real, dir))
                .isEqualTo(new Verdict(Verdict.Kind.INTERFERED, 1, "a race on 42", null));
        // asked only after a difference: steps that agree are compared on
        assertThat(Differential.compare(new Toy(), List.of(new Raced(1), new Raced(2)), real, dir).kind())
                .isEqualTo(Verdict.Kind.AGREED);
    }

    @Test
    void aRunReportsItsDisagreementsAsReadyToPasteTestsAndIsReproducibleBySeed() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        FuzzReport report = Differential.run(new Toy(), real, 5, 40, dir, new PrintStream(out, true,
                StandardCharsets.UTF_8));
        assertThat(report.programs()).isEqualTo(40);
        assertThat(report.disagreements()).isNotEmpty().allSatisfy(text -> assertThat(text)
                .contains("Differential.assertAgree(new Toy(), List.of(", "new DifferentialTest.Answer(13)"));
        assertThat(Differential.identifier("tcp-repair")).isEqualTo("tcpRepair");
        assertThat(report.toJson()).contains("\"fuzzer\":\"toy\"", "\"programs\":40",
                "\"disagreements\":" + report.disagreements().size());
        FuzzReport again = Differential.run(new Toy(), real, 5, 40, dir, new PrintStream(
                new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertThat(again.disagreements()).isEqualTo(report.disagreements());
        assertThat(again.operations()).isEqualTo(report.operations());
    }
}
