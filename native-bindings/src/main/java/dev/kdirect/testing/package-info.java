/**
 * A JUnit 5 extension for tests of code built on kdirect: {@link dev.kdirect.testing.RequiresRealKernel} runs a
 * test only where a feature is real (and fails it where the feature is required but missing), and
 * {@link dev.kdirect.testing.ForceSimulatedKernel} runs a test class on the simulated kernel.
 */
package dev.kdirect.testing;
