package dev.kdirect.rules;

import dev.kdirect.Errno;

/**
 * Why the kernel refuses an input: the errno it returns, the message it logs (or would log), and the rule.
 *
 * @param errno the errno, e.g. {@link Errno#ENOEXEC}
 * @param message the kernel's log message for it, e.g. {@code "Not a bzImage"}
 * @param rule what was checked, in words a user can act on
 */
public record Refusal(Errno errno, String message, String rule) {
}
