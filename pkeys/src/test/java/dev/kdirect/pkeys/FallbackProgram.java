package dev.kdirect.pkeys;

import dev.kdirect.FeatureUnavailableException;

/**
 * Run in a child JVM by {@link FallbackTest}: allocates a protection key three times through
 * {@link ProtectionKey#allocate()}, the way a service would, and says which kernel each key is on; exits
 * {@link #UNAVAILABLE_EXIT} with the message when kdirect refuses the fallback.
 */
public final class FallbackProgram {
    static final int UNAVAILABLE_EXIT = 3;

    private FallbackProgram() {
    }

    public static void main(String[] args) throws Exception {
        try {
            for (int i = 0; i < 3; i++) {
                try (ProtectionKey key = ProtectionKey.allocate()) {
                    System.out.println("key " + key.number() + " on " + key.binding().id());
                }
            }
        } catch (FeatureUnavailableException e) {
            System.out.println("unavailable: " + e.getMessage());
            System.exit(UNAVAILABLE_EXIT);
        }
    }
}
