package dev.kdirect.tcprepair;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;

/**
 * Another local user, for {@link MigrationPeerTest}: run as uid 65534 with no capabilities and umask 000, it does
 * what such a user could try against a root migration, one command per line on standard input, one answer line:
 * <pre>
 *  id                 ID euid CapEff umask (from /proc/self/status)
 *  forge SOCKET       connects as a source, sends HELLO and a forged IMAGE (the "seq 1094795585"), and
 *                     prints what came back: ANSWER Abort reason (or ANSWER the other side aborted: reason, when
 *                     it came while sending), ANSWER other, CLOSED message, or CONNECT-FAILED message
 *  bind SOCKET        binds and listens there as a would-be target: BOUND
 *  accepted           ACCEPTED n bytes: the connections the bound socket received and the bytes they sent
 *  file PATH          a regular file there: FILE
 *  listen DIR         a MigrationTarget in DIR made with this umask (0777: refused), then in DIR made 0700:
 *                     lines OPEN-REFUSED message, SOCKET mode, DELETED-ON-CLOSE true|false, and for a regular
 *                     file placed at the path: FILE-REFUSED message, FILE-KEPT true|false
 * </pre>
 */
public final class UnprivilegedPeer {
    private UnprivilegedPeer() {
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        ServerSocketChannel bound = null;
        List<SocketChannel> accepted = new ArrayList<>();
        System.out.println("READY");
        for (String line; (line = in.readLine()) != null; ) {
            String[] c = line.split(" ");
            switch (c[0]) {
                case "id" -> {
                    List<String> status = Files.readAllLines(Path.of("/proc/self/status"));
                    System.out.println("ID " + field(status, "Uid:").split("\\s+")[1] + " "
                            + field(status, "CapEff:") + " " + field(status, "Umask:"));
                }
                case "forge" -> System.out.println(forge(Path.of(c[1])));
                case "bind" -> {
                    bound = ServerSocketChannel.open(StandardProtocolFamily.UNIX)
                            .bind(UnixDomainSocketAddress.of(Path.of(c[1])));
                    bound.configureBlocking(false);
                    System.out.println("BOUND");
                }
                case "accepted" -> {
                    for (SocketChannel s; (s = bound.accept()) != null; ) {
                        s.configureBlocking(false);
                        accepted.add(s);
                    }
                    long bytes = 0;
                    for (SocketChannel s : accepted) {
                        for (int n; (n = s.read(java.nio.ByteBuffer.allocate(65536))) > 0; ) {
                            bytes += n;
                        }
                    }
                    System.out.println("ACCEPTED " + accepted.size() + " " + bytes);
                }
                case "file" -> {
                    Files.writeString(Path.of(c[1]), "not a socket");
                    System.out.println("FILE");
                }
                case "listen" -> listen(Path.of(c[1]));
                default -> System.out.println("ERROR unknown command " + line);
            }
        }
    }

    private static String forge(Path socket) {
        SocketChannel channel;
        try {
            channel = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            return "CONNECT-FAILED " + e.getMessage();
        }
        ConnectionState forged = new ConnectionState(new java.net.InetSocketAddress("127.0.0.1", 40123),
                new java.net.InetSocketAddress("127.0.0.2", 8080), 1094795585, 1111638594,
                "the forger's unread bytes".getBytes(StandardCharsets.US_ASCII), new byte[0],
                "19 bytes of forgery".getBytes(StandardCharsets.US_ASCII),
                new ConnectionState.TcpOptions(1460, 7, 7, true, true, 1),
                new ConnectionState.RepairWindow(1111638594, 65535, 65535, 65535, 1111638594),
                new ConnectionState.SocketOptions(16384, 131072, false, false, false));
        try (MigrationWire wire = new MigrationWire(channel, System.nanoTime() + 60_000_000_000L, 60_000,
                MigrationLimits.defaults())) {
            wire.send(new MigrationWire.Hello(MigrationMode.SEPARATE_NAMESPACES, 1));
            wire.send(new MigrationWire.Image(0, ConnectionImage.write(forged), "forged".getBytes(StandardCharsets.US_ASCII)));
            wire.flush();
            MigrationWire.Message answer = wire.receive();
            return answer instanceof MigrationWire.Abort a ? "ANSWER Abort " + a.reason() : "ANSWER " + answer;
        } catch (MigrationException e) { // it aborted while the forgery was being sent
            return "ANSWER " + e.getMessage();
        } catch (IOException e) {
            return "CLOSED " + e.getMessage();
        }
    }

    private static void listen(Path dir) throws IOException {
        Files.createDirectory(dir); // with umask 000: mode 0777
        Path socket = dir.resolve("t.sock");
        try (MigrationTarget t = MigrationTarget.listen(socket)) {
            System.out.println("OPEN-LISTENING");
        } catch (MigrationException e) {
            System.out.println("OPEN-REFUSED " + e.getMessage());
        }
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        try (MigrationTarget t = MigrationTarget.listen(socket)) {
            System.out.println("SOCKET " + PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
        }
        System.out.println("DELETED-ON-CLOSE " + !Files.exists(socket, LinkOption.NOFOLLOW_LINKS));
        Files.writeString(socket, "not a socket");
        try (MigrationTarget t = MigrationTarget.listen(socket)) {
            System.out.println("FILE-LISTENING");
        } catch (MigrationException e) {
            System.out.println("FILE-REFUSED " + e.getMessage());
        }
        System.out.println("FILE-KEPT " + "not a socket".equals(Files.readString(socket)));
    }

    private static String field(List<String> status, String name) {
        return status.stream().filter(l -> l.startsWith(name)).map(l -> l.substring(name.length()).trim())
                .findFirst().orElse("");
    }
}
