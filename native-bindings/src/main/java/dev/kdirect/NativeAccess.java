package dev.kdirect;

import java.util.List;

/**
 * The JVM flag kdirect's restricted calls (FFM downcalls, {@code MemorySegment.reinterpret}) need, and the
 * one-line error that names it when the JVM denies them. On the class path the flag is
 * {@code --enable-native-access=ALL-UNNAMED}; on the module path it lists every kdirect module that makes such
 * calls, and JNA's.
 */
public final class NativeAccess {
    /** The modules that call restricted methods: the bindings, pkeys' access windows, and JNA. */
    public static final List<String> MODULES = List.of("dev.kdirect", "dev.kdirect.pkeys", "com.sun.jna");

    private NativeAccess() {
    }

    /** The flag to add to the java command line, for the way kdirect was loaded (module path or class path). */
    public static String flag() {
        boolean modulePath = NativeAccess.class.getModule().isNamed();
        return "--enable-native-access=" + (modulePath ? String.join(",", MODULES) : "ALL-UNNAMED");
    }

    /** The JVM's refusal of a restricted call, as one line that names the flag to add; {@code cause} kept. */
    public static IllegalCallerException denied(IllegalCallerException cause) {
        return new IllegalCallerException("kdirect needs native access, which this JVM denies (" + cause.getMessage()
                + "): add " + flag() + " to the java command line", cause);
    }
}
