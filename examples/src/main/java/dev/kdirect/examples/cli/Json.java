package dev.kdirect.examples.cli;

import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Writes maps, lists, strings, numbers and booleans as JSON: all the CLI's --json output needs. {@link #write}
 * indents for people; {@link #line} writes one line, for streams of objects (one per line).
 */
final class Json {
    private Json() {
    }

    static String write(Object value) {
        StringBuilder out = new StringBuilder();
        write(value, out, "");
        return out.toString();
    }

    static String line(Object value) {
        StringBuilder out = new StringBuilder();
        write(value, out, null);
        return out.toString();
    }

    private static void write(Object value, StringBuilder out, String indent) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof String s) {
            string(s, out);
        } else if (value instanceof Number || value instanceof Boolean) {
            out.append(value);
        } else if (value instanceof Map<?, ?> map) {
            container(map.entrySet().iterator(), '{', '}', out, indent, (e, inner) -> {
                string(String.valueOf(e.getKey()), out);
                out.append(": ");
                write(e.getValue(), out, inner);
            });
        } else if (value instanceof List<?> list) {
            container(list.iterator(), '[', ']', out, indent, (e, inner) -> write(e, out, inner));
        } else {
            string(value.toString(), out);
        }
    }

    private interface Element<T> {
        void write(T element, String indent);
    }

    private static <T> void container(Iterator<T> items, char open, char close, StringBuilder out, String indent,
            Element<T> element) {
        out.append(open);
        String inner = indent == null ? null : indent + "  "; // null: all on one line
        boolean first = true;
        while (items.hasNext()) {
            out.append(first ? "" : inner == null ? ", " : ",");
            if (inner != null) {
                out.append('\n').append(inner);
            }
            element.write(items.next(), inner);
            first = false;
        }
        if (!first && indent != null) {
            out.append('\n').append(indent);
        }
        out.append(close);
    }

    private static void string(String s, StringBuilder out) {
        out.append('"');
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
