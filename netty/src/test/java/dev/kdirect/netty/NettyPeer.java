package dev.kdirect.netty;

import dev.kdirect.netty.EchoFixture.Client;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * {@link EchoFixture}'s blocking clients, in the peer namespace of {@link dev.kdirect.tcprepair.HostNamespaces}:
 * arguments IP PORT N; connects N clients (CONNECTED), then runs each command line on every client at once and answers
 * OK, or ERROR with the first failure (a wrong, missing or extra byte, a reset, an end of stream):
 * {@code send BYTES}, {@code receive BYTES}, {@code upto TOTAL} (receive until TOTAL bytes were echoed in all).
 */
public final class NettyPeer {
    private NettyPeer() {
    }

    public static void main(String[] args) throws Exception {
        BufferedReader commands = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        InetSocketAddress server = new InetSocketAddress(args[0], Integer.parseInt(args[1]));
        List<Client> clients = new ArrayList<>();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < Integer.parseInt(args[2]); i++) {
                clients.add(new Client(i, server));
            }
            System.out.println("CONNECTED");
            for (String line; (line = commands.readLine()) != null; ) {
                String[] c = line.split(" ");
                long n = Long.parseLong(c[1]);
                try {
                    NettyHandoffTest.all(threads, clients, switch (c[0]) {
                        case "send" -> client -> client.send(n);
                        case "receive" -> client -> client.receive(n);
                        case "upto" -> client -> client.receive(n - client.received());
                        default -> throw new IllegalArgumentException("unknown command " + line);
                    });
                    System.out.println("OK");
                } catch (Exception | AssertionError e) {
                    System.out.println("ERROR " + e);
                }
            }
        } finally {
            for (Client client : clients) {
                client.close();
            }
        }
    }
}
