package dev.kdirect.fuzz;

import java.lang.reflect.RecordComponent;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * One call of a generated program, applied to a world ({@link Fuzzer#open}) on either kernel. Steps are records, so
 * a shrunk sequence prints itself as Java ({@link #java}); they name what they act on by the world's handles (a
 * mapping's slot, a socket's role), never by an address or descriptor number, which differ between the kernels.
 *
 * @param <W> the world the step acts on
 */
public interface Step<W> {
    /**
     * Makes the call. The outcome compared between the kernels is what this returns ({@code "ok"}, or a value the
     * kernels must agree on) or, when the call throws {@link dev.kdirect.KernelException}, its errno's name. The model
     * throwing {@link UnsupportedOperationException} is a refusal; any other exception from it is a disagreement.
     */
    String apply(W world) throws Exception;

    /** The step as a Java expression, for a reproduction pasted into a test beside its fuzzer. */
    default String java() {
        if (!getClass().isRecord()) {
            return "/* " + this + " */";
        }
        String arguments = Arrays.stream(getClass().getRecordComponents())
                .map(this::literal).collect(Collectors.joining(", "));
        return "new " + getClass().getName().substring(getClass().getPackageName().length() + 1).replace('$', '.')
                + "(" + arguments + ")";
    }

    private String literal(RecordComponent component) {
        Object value;
        try {
            value = component.getAccessor().invoke(this);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
        return switch (value) {
            case null -> "null";
            case String s -> '"' + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + '"';
            case Long l -> l + "L";
            case Enum<?> e -> e.getDeclaringClass().getSimpleName() + "." + e.name();
            case byte[] bytes -> "java.util.HexFormat.of().parseHex(\"" + java.util.HexFormat.of().formatHex(bytes)
                    + "\")";
            case int[] ints -> "new int[] {" + Arrays.stream(ints).mapToObj(Integer::toString)
                    .collect(Collectors.joining(", ")) + "}";
            default -> value.toString();
        };
    }
}
