package dev.kdirect.rules;

/**
 * Why the kernel refuses an input: the errno it returns, the message it logs (or would log), and the rule.
 *
 * @param errno the symbolic errno, e.g. {@code "ENOEXEC"}
 * @param message the kernel's log message for it, e.g. {@code "Not a bzImage"}
 * @param rule what was checked, in words a user can act on
 */
public record Refusal(String errno, String message, String rule) {
}
