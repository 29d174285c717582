package dev.kdirect.benchmarks;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * The peers of {@link TcpMigrationBenchmark}'s connections, in a process of their own so that each process holds
 * one descriptor per connection (10,000 connections would pass a 20,000-descriptor limit in one process): connects
 * {@code count} times to the port (of the loopback address, or of the host given third), sends {@code queued} bytes
 * (fourth, 0 if absent) on each and reads nothing (its receive buffer made small, so that what the server's end
 * sends stays queued there), prints "ready", holds the connections until its standard input closes.
 */
public final class PeerProcess {
    private PeerProcess() {
    }

    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(args[0]);
        int count = Integer.parseInt(args[1]);
        InetSocketAddress server = args.length > 2 ? new InetSocketAddress(args[2], port)
                : new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        int queued = args.length > 3 ? Integer.parseInt(args[3]) : 0;
        List<SocketChannel> peers = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            SocketChannel peer = SocketChannel.open();
            if (queued > 0) {
                peer.setOption(StandardSocketOptions.SO_RCVBUF, 4096); // before connect: the window it offers
            }
            peers.add(peer);
            peer.connect(server);
            for (ByteBuffer bytes = ByteBuffer.allocate(queued); bytes.hasRemaining(); ) {
                peer.write(bytes);
            }
        }
        System.out.println("ready");
        System.out.flush();
        try (InputStream in = System.in) {
            while (in.read() >= 0) {
                // idle until the benchmark closes our input
            }
        }
        for (SocketChannel peer : peers) {
            peer.close();
        }
    }

    /** Starts the process with this JVM's java and class path; each peer sends {@code queued} bytes. */
    static Process start(int port, int count, int queued) throws IOException {
        return start(List.of(), InetAddress.getLoopbackAddress().getHostAddress(), port, count, queued);
    }

    /** Starts it under {@code prefix} (e.g. ip netns exec NS), connecting to {@code host}. */
    static Process start(List<String> prefix, String host, int port, int count) throws IOException {
        return start(prefix, host, port, count, 0);
    }

    private static Process start(List<String> prefix, String host, int port, int count, int queued)
            throws IOException {
        List<String> command = new ArrayList<>(prefix);
        command.addAll(List.of(ProcessHandle.current().info().command().orElse("java"), "-cp",
                System.getProperty("java.class.path"), PeerProcess.class.getName(), Integer.toString(port),
                Integer.toString(count), host, Integer.toString(queued)));
        Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        byte[] line = new byte[6];
        if (process.getInputStream().readNBytes(line, 0, 6) != 6 || !new String(line).equals("ready\n")) {
            process.destroyForcibly();
            throw new IOException("the peer process did not get its " + count + " connections ready");
        }
        return process;
    }
}
