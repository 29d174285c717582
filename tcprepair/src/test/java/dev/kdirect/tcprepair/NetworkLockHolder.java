package dev.kdirect.tcprepair;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Holds a network lock for {@link NetworkLockTest} (run in another PID namespace): prints {@code TABLE name}, then
 * unlocks on the line {@code unlock} and prints {@code UNLOCKED}.
 */
public final class NetworkLockHolder {
    private NetworkLockHolder() {
    }

    public static void main(String[] args) throws Exception {
        var tuple = new NetworkLock.Tuple(new InetSocketAddress("127.77.1.1", 1), new InetSocketAddress("127.77.1.2", 2));
        try (NetworkLock lock = NetworkLock.lock(List.of(tuple));
                BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            System.out.println("TABLE " + lock.table());
            System.out.flush();
            for (String line; (line = in.readLine()) != null && !line.equals("unlock"); ) {
                // wait for the test
            }
        }
        System.out.println("UNLOCKED");
        System.out.flush();
    }
}
