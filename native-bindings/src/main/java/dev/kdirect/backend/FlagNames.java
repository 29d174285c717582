package dev.kdirect.backend;

import dev.kdirect.Advice;
import dev.kdirect.MapFlags;
import dev.kdirect.OpenFlags;
import dev.kdirect.Prot;
import java.util.StringJoiner;

/** Flag words as readable text for error messages, e.g. {@code READ|WRITE}; unknown bits stay visible in hex. */
final class FlagNames {
    private FlagNames() {
    }

    static String prot(int prot) {
        return prot == Prot.NONE ? "NONE"
                : bits(prot, new int[] {Prot.READ, Prot.WRITE, Prot.EXEC}, new String[] {"READ", "WRITE", "EXEC"});
    }

    static String map(int flags) {
        String type = switch (flags & MapFlags.TYPE_MASK) {
            case MapFlags.SHARED -> "SHARED";
            case MapFlags.PRIVATE -> "PRIVATE";
            case MapFlags.SHARED_VALIDATE -> "SHARED_VALIDATE";
            default -> "type 0x" + Integer.toHexString(flags & MapFlags.TYPE_MASK);
        };
        int rest = flags & ~MapFlags.TYPE_MASK;
        return rest == 0 ? type : type + "|" + bits(rest,
                new int[] {MapFlags.FIXED, MapFlags.ANONYMOUS, MapFlags.NORESERVE, MapFlags.POPULATE, MapFlags.SYNC,
                    MapFlags.FIXED_NOREPLACE},
                new String[] {"FIXED", "ANONYMOUS", "NORESERVE", "POPULATE", "SYNC", "FIXED_NOREPLACE"});
    }

    static String open(int flags) {
        String mode = switch (flags & OpenFlags.ACCMODE) {
            case OpenFlags.RDONLY -> "RDONLY";
            case OpenFlags.WRONLY -> "WRONLY";
            case OpenFlags.RDWR -> "RDWR";
            default -> "ACCMODE3";
        };
        int rest = flags & ~OpenFlags.ACCMODE;
        return rest == 0 ? mode : mode + "|" + bits(rest,
                new int[] {OpenFlags.CREAT, OpenFlags.EXCL, OpenFlags.TRUNC, OpenFlags.APPEND, OpenFlags.NONBLOCK,
                    OpenFlags.DIRECTORY, OpenFlags.NOFOLLOW, OpenFlags.CLOEXEC},
                new String[] {"CREAT", "EXCL", "TRUNC", "APPEND", "NONBLOCK", "DIRECTORY", "NOFOLLOW", "CLOEXEC"});
    }

    static String advice(int advice) {
        return switch (advice) {
            case Advice.NORMAL -> "NORMAL";
            case Advice.RANDOM -> "RANDOM";
            case Advice.SEQUENTIAL -> "SEQUENTIAL";
            case Advice.WILLNEED -> "WILLNEED";
            case Advice.DONTNEED -> "DONTNEED";
            case Advice.FREE -> "FREE";
            case Advice.HWPOISON -> "HWPOISON";
            case Advice.SOFT_OFFLINE -> "SOFT_OFFLINE";
            default -> Integer.toString(advice);
        };
    }

    private static String bits(int value, int[] masks, String[] names) {
        StringJoiner out = new StringJoiner("|");
        int left = value;
        for (int i = 0; i < masks.length; i++) {
            if ((left & masks[i]) != 0) {
                out.add(names[i]);
                left &= ~masks[i];
            }
        }
        if (left != 0) {
            out.add("0x" + Integer.toHexString(left));
        }
        return out.toString();
    }
}
