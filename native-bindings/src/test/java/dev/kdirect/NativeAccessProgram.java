package dev.kdirect;

/**
 * Run in a child JVM by {@link NativeAccessTest} with native access denied: each restricted path prints the one
 * line it fails with.
 */
public final class NativeAccessProgram {
    private NativeAccessProgram() {
    }

    public static void main(String[] args) throws Exception {
        try {
            System.out.println("ffm: " + Kernels.ffm().geteuid());
        } catch (IllegalCallerException e) {
            System.out.println("ffm: " + e.getMessage());
        }
        try {
            Kernels.newSimulated().mmap(java.lang.foreign.MemorySegment.NULL, 4096, Prot.READ_WRITE,
                    MapFlags.PRIVATE | MapFlags.ANONYMOUS, -1, 0);
            System.out.println("mmap: mapped");
        } catch (IllegalCallerException e) {
            System.out.println("mmap: " + e.getMessage());
        }
    }
}
