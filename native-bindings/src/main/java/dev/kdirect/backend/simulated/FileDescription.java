package dev.kdirect.backend.simulated;

/** What a simulated file descriptor refers to (the kernel's struct file). */
sealed interface FileDescription permits OpenFile, SimulatedSocket {
    /** Releases what the description holds when its last descriptor is closed. */
    void release();
}
