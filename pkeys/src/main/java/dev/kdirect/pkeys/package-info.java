/**
 * Protection keys (x86-64 PKU): {@link dev.kdirect.pkeys.ProtectionKey}, {@link dev.kdirect.pkeys.ProtectedRegion},
 * {@link dev.kdirect.pkeys.AccessWindow}, and {@link dev.kdirect.pkeys.ProtectionKeyFault}, the simulated
 * kernel's form of the SIGSEGV (si_code SEGV_PKUERR) the hardware raises.
 */
package dev.kdirect.pkeys;
