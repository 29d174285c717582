package dev.kdirect.tcprepair;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * The client machine of the soak test, run in its own JVM in the peer namespace: connects to IP PORT and streams
 * both ways with {@link StreamPump}, checking every byte. Commands on standard input: "stats" answers
 * STATS sent received longest-gap-ms (and resets the gap), or ERROR with the first failure (a wrong byte, an end
 * of stream, a reset); "quit" ends it, with exit status 1 if the stream failed at any time.
 */
public final class SoakPeer {
    private SoakPeer() {
    }

    public static void main(String[] args) throws Exception {
        SocketChannel channel = SocketChannel.open(new InetSocketAddress(args[0], Integer.parseInt(args[1])));
        StreamPump pump = new StreamPump(channel, 0x9ee4L, 0x5e4e4L, new StreamPump.Positions(0, 0));
        System.out.println("CONNECTED");
        BufferedReader commands = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = commands.readLine()) != null && !line.equals("quit"); ) {
            if (pump.error() != null) {
                System.out.println("ERROR " + pump.error());
            } else {
                StreamPump.Positions p = pump.positions();
                System.out.println("STATS " + p.sent() + " " + p.received() + " " + pump.longestGapMillis());
                pump.resetGap();
            }
        }
        pump.stop();
        if (pump.error() != null) {
            System.out.println("ERROR " + pump.error());
            System.exit(1);
        }
    }
}
