/**
 * Rules of the Linux kernel as pure functions of their input, each citing the kernel source it follows. The
 * simulated kernel applies them inside its syscalls; feature modules apply the same rules before a syscall, so a
 * user gets the kernel's verdict, errno and message without making the call.
 */
package dev.kdirect.rules;
