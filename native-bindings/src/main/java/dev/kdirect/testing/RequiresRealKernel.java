package dev.kdirect.testing;

import dev.kdirect.Feature;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The test calls the real kernel and needs these features to be real. Where a feature is missing the test is
 * skipped, unless the feature is required in this place ({@code KDIRECT_REQUIRE=pkeys,tcp-repair} or
 * {@code all}, or {@code -Dkdirect.require=...}): then it fails with the probe's reason, because a missing
 * capability where it must exist is a failure, not a skip. An empty list means only always-present syscalls.
 * Tagged {@code real-kernel} so a runner can select these tests.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Tag("real-kernel")
@ExtendWith(RealKernelExtension.class)
public @interface RequiresRealKernel {
    /** The features that must be real. */
    Feature[] value() default {};
}
