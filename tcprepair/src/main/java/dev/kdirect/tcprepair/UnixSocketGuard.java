package dev.kdirect.tcprepair;

import dev.kdirect.FileStatus;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;

/**
 * Who may be at the other end of a migration's Unix domain socket, and the socket file's safety. The peers allowed
 * are this process's effective uid, root, and the uids configured; both ends check the other's credentials as the
 * kernel recorded them (SO_PEERCRED: the target's at listen(2), the source's at connect(2)) before a frame is read
 * or sent. The target's socket lives in a directory that only its owner (this user or root) may write to, so no one
 * else can replace it, and is made 0600 whatever the umask; the source refuses a path that is not a socket, or a
 * socket owned by another uid, before it connects. Only the socket file this process bound is ever deleted.
 */
final class UnixSocketGuard {
    /** sun_path holds 108 bytes, the terminating NUL included (include/uapi/linux/un.h). */
    static final int MAX_PATH_BYTES = 107;
    private static final int GROUP_OR_OTHERS_WRITE = 0022;

    private final Set<Integer> uids;
    private final Set<UserPrincipal> principals = new LinkedHashSet<>();

    /** This process's uid and root, plus {@code more}. */
    UnixSocketGuard(int... more) throws IOException {
        uids = new TreeSet<>(List.of(0, effectiveUid()));
        for (int uid : more) {
            uids.add(uid);
        }
        var lookup = FileSystems.getDefault().getUserPrincipalLookupService();
        for (int uid : uids) {
            principals.add(lookup.lookupPrincipalByName(Integer.toString(uid))); // by number: equal to any name's
        }
    }

    /** The socket's address, once its length and directory are known to be usable. */
    static UnixDomainSocketAddress address(Path socket) throws MigrationException {
        int bytes = socket.toString().getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_PATH_BYTES) {
            throw new MigrationException("the socket path " + socket + " is " + bytes + " bytes long; a Unix domain"
                    + " socket's path holds at most " + MAX_PATH_BYTES + " bytes (sun_path): choose a shorter one");
        }
        Path dir = directoryOf(socket);
        if (!Files.isDirectory(dir)) {
            throw new MigrationException("the directory " + dir + " of the socket " + socket + " does not exist"
                    + " (or is not a directory): create it, owned by the service's user with mode 0700");
        }
        return UnixDomainSocketAddress.of(socket);
    }

    /**
     * Before a target binds: the directory is owned by this user or root and writable by no one else, and nothing
     * is at the path yet (kdirect never deletes a file it did not create).
     */
    void checkTargetPath(Path socket) throws IOException {
        checkListeningPath(socket, "migration socket", "migration target");
    }

    /**
     * Before a listener binds ({@code what} it is, {@code who} uses it): as {@link #checkTargetPath}, for any socket
     * kdirect listens on.
     */
    static void checkListeningPath(Path socket, String what, String who) throws IOException {
        Path dir = directoryOf(socket);
        Map<String, Object> d = Files.readAttributes(dir, "unix:mode,uid");
        int owner = (int) d.get("uid");
        int mode = (int) d.get("mode");
        if (owner != 0 && owner != effectiveUid()) {
            throw new MigrationException("the directory " + dir + " of the " + what + " is owned by uid "
                    + owner + ", not by this user or root: whoever owns it could replace the socket; use a"
                    + " directory of your own with mode 0700");
        }
        if ((mode & GROUP_OR_OTHERS_WRITE) != 0) {
            throw new MigrationException("the directory " + dir + " of the " + what + " has mode "
                    + Integer.toOctalString(mode & 07777) + ": others may write to it, and so replace the socket;"
                    + " use a directory no one else may write to (chmod 0700 " + dir + ")");
        }
        Map<String, Object> existing = lstat(socket);
        if (existing != null) {
            throw new MigrationException(socket + " already exists (" + describe(existing) + "): kdirect deletes"
                    + " only the socket it created itself; remove it if no " + who + " uses it");
        }
    }

    /** After bind: the socket becomes 0600 (its directory keeps others out meanwhile); its identity, to delete it. */
    static Object created(Path socket) throws IOException {
        return created(socket, "rw-------");
    }

    /** After bind: the socket gets {@code permissions}; its identity, for {@link #deleteIfCreated}. */
    static Object created(Path socket, String permissions) throws IOException {
        Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString(permissions));
        return identity(Objects.requireNonNull(lstat(socket)));
    }

    /** Deletes the socket at {@code socket} if it is still the one this process created ({@link #created}). */
    static void deleteIfCreated(Path socket, Object identity) throws IOException {
        Map<String, Object> now = lstat(socket);
        if (now != null && isSocket(now) && (int) now.get("uid") == effectiveUid()
                && identity.equals(identity(now))) {
            Files.delete(socket);
        }
    }

    /** Before a source connects: a socket owned by an allowed uid; anything else is refused, nothing sent. */
    void checkSourcePath(Path socket) throws IOException {
        Map<String, Object> target = lstat(socket);
        if (target == null) {
            throw new MigrationException("no migration target at " + socket + ": nothing is there");
        }
        if (!isSocket(target)) {
            throw new MigrationException("refusing to migrate to " + socket + ": it is " + describe(target)
                    + ", not a socket");
        }
        int owner = (int) target.get("uid");
        if (!uids.contains(owner)) {
            throw new MigrationException("refusing to migrate to " + socket + ": the socket is owned by uid " + owner
                    + ", allowed are " + uids + " (this user, root, and those given to allowUids)");
        }
    }

    /** The process at the other end of {@code channel} ({@code who}: "source" or "target") runs as an allowed uid. */
    void checkPeer(SocketChannel channel, String who) throws IOException {
        UnixDomainPrincipal peer = channel.getOption(ExtendedSocketOptions.SO_PEERCRED);
        if (!principals.contains(peer.user())) {
            throw new MigrationException("refused the " + who + ": it runs as " + peer.user().getName()
                    + ", allowed are uids " + uids + " (this user, root, and those given to allowUids)");
        }
    }

    /** The effective uid of this process (/proc/self/status), the owner of what it creates. */
    static int effectiveUid() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Uid:")) {
                return Integer.parseInt(line.substring(4).trim().split("\\s+")[1]);
            }
        }
        throw new IOException("/proc/self/status has no Uid line");
    }

    private static Path directoryOf(Path socket) {
        Path parent = socket.toAbsolutePath().getParent();
        return parent == null ? Path.of("/") : parent;
    }

    /** The file's mode, owner and identity, not following a symbolic link; null when there is nothing. */
    private static Map<String, Object> lstat(Path path) throws IOException {
        try {
            return Files.readAttributes(path, "unix:mode,uid,ino,dev", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    private static String identity(Map<String, Object> attributes) {
        return attributes.get("dev") + ":" + attributes.get("ino");
    }

    private static boolean isSocket(Map<String, Object> attributes) {
        return ((int) attributes.get("mode") & FileStatus.S_IFMT) == FileStatus.S_IFSOCK;
    }

    private static String describe(Map<String, Object> attributes) {
        String type = switch ((int) attributes.get("mode") & FileStatus.S_IFMT) {
            case FileStatus.S_IFSOCK -> "a socket";
            case FileStatus.S_IFREG -> "a regular file";
            case FileStatus.S_IFDIR -> "a directory";
            case FileStatus.S_IFLNK -> "a symbolic link";
            default -> "a special file";
        };
        return type + " owned by uid " + attributes.get("uid");
    }
}
