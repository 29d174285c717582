/**
 * The syscall surface of kdirect: {@link dev.kdirect.Kernel}, chosen per feature by
 * {@link dev.kdirect.Kernels}, failing with {@link dev.kdirect.KernelException} (errno, syscall, arguments
 * and a hint), and {@link dev.kdirect.Feature} availability probes.
 */
package dev.kdirect;
