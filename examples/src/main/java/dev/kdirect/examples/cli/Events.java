package dev.kdirect.examples.cli;

import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What tcp-handoff's pieces print as they go: a line starting with the event's word ({@code LISTENING 41234}, the
 * form {@code demo} reads), or with {@code --json} one JSON object per line ({@code {"event": "listening",
 * "port": 41234}}).
 */
record Events(PrintStream out, boolean json) {

    /**
     * @param word the event, e.g. {@code "LISTENING"}
     * @param text the rest of the text line
     * @param fields the same facts for JSON, as alternating names and values
     */
    void emit(String word, String text, Object... fields) {
        if (json) {
            Map<String, Object> event = new LinkedHashMap<>();
            event.put("event", word.toLowerCase(java.util.Locale.ROOT));
            for (int i = 0; i < fields.length; i += 2) {
                event.put((String) fields[i], fields[i + 1]);
            }
            out.println(Json.line(event));
        } else {
            out.println(text.isEmpty() ? word : word + " " + text);
        }
        out.flush();
    }
}
