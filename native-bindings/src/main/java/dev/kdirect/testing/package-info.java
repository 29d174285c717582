/**
 * A JUnit 5 kit for tests of code built on kdirect: {@link dev.kdirect.testing.ForceSimulatedKernel} gives each
 * test (of a method or a class) a fresh simulated kernel, safe under parallel execution;
 * {@link dev.kdirect.testing.SimulatedMachine} damages that kernel's machine on purpose (a poisoned page, a power
 * cut, a corrupted kexec image, a peer that resets or stalls, exhausted protection keys);
 * {@link dev.kdirect.testing.RequiresRealKernel} runs a test only where a feature is real, and fails it where the
 * feature is required but missing.
 */
package dev.kdirect.testing;
