package dev.kdirect.tcprepair;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kdirect.Feature;
import dev.kdirect.testing.RequiresRealKernel;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The nftables lock on the real kernel, in this process's network namespace (loopback connections, and made-up
 * tuples on 127.77.0.0/16 that no socket uses): while held, a segment either way neither arrives nor draws a reset
 * until its sender's timer fired ({@link LockedSegment}), and it arrives after; each lock has its own table, ten
 * thousand connections lock in one batch (its speed is NetworkLockBenchmark's), a dead process's table is removed by
 * the next lock, and a missing or unpermitted nft is reported with what to do.
 */
@RequiresRealKernel(Feature.TCP_REPAIR)
@Timeout(60)
class NetworkLockTest {
    @BeforeEach
    void tools() {
        RequiredTools.require("nft");
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "::1"})
    void aLockedConnectionPassesNothingInEitherDirectionUntilUnlocked(String host) throws Exception {
        try (ServerSocketChannel server = ServerSocketChannel.open()
                .bind(new InetSocketAddress(InetAddress.getByName(host), 0));
                SocketChannel client = SocketChannel.open(server.getLocalAddress());
                SocketChannel accepted = server.accept()) {
            String table;
            try (NetworkLock lock = NetworkLock.lockChannels(List.of(client))) {
                table = lock.table();
                assertThat(NetworkLock.tables()).contains(table);
                assertThat(LockedSegment.violations(LockedSegment.Sender.LOCKED_SOCKET, client, accepted, (byte) 1))
                        .isEmpty();
                assertThat(LockedSegment.violations(LockedSegment.Sender.PEER, accepted, client, (byte) 2)).isEmpty();
            }
            assertThat(NetworkLock.tables()).doesNotContain(table);
            // the retransmissions get through now, both ways
            assertThat(readOne(accepted)).isEqualTo((byte) 1);
            assertThat(readOne(client)).isEqualTo((byte) 2);
        }
    }

    @Test
    void tenThousandConnectionsLockInOneBatch() throws Exception {
        List<NetworkLock.Tuple> tuples = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            tuples.add(new NetworkLock.Tuple(new InetSocketAddress("127.77." + (i >> 8) + "." + (i & 0xff), 443),
                    new InetSocketAddress("127.77.200.1", 20_000 + i)));
        }
        // how long it takes is NetworkLockBenchmark's (benchmarks module), not a unit test's
        NetworkLock lock = NetworkLock.lock(tuples);
        try (lock) {
            String set = nft("list set inet " + lock.table() + " v4");
            assertThat(set.split(" \\. 443 \\. ", -1).length - 1).as("elements").isEqualTo(10_000);
            assertThat(set).contains("127.77.39.15 . 443 . 127.77.200.1 . 29999");
        }
        assertThat(NetworkLock.tables()).doesNotContain(lock.table());
    }

    @Test
    void concurrentLocksHaveTheirOwnTables() throws Exception {
        var a = new NetworkLock.Tuple(new InetSocketAddress("127.77.0.1", 1), new InetSocketAddress("127.77.0.2", 2));
        try (NetworkLock first = NetworkLock.lock(List.of(a)); NetworkLock second = NetworkLock.lock(List.of(a))) {
            assertThat(first.table()).isNotEqualTo(second.table());
            first.close();
            assertThat(NetworkLock.tables()).doesNotContain(first.table()).contains(second.table());
        }
    }

    @Test
    void theNextLockRemovesTheTablesOfAProcessThatDiedAndOfAReusedPid() throws Exception {
        LockOwner self = LockOwner.current();
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        String dead = table(new LockOwner(self.pidNamespace(), gone.pid(), self.startTime()));
        String reused = table(new LockOwner(self.pidNamespace(), self.pid(), self.startTime() - 1)); // an earlier owner
        nft("add table inet " + dead);
        nft("add table inet " + reused);
        var t = new NetworkLock.Tuple(new InetSocketAddress("127.77.0.1", 1), new InetSocketAddress("127.77.0.2", 2));
        try (NetworkLock lock = NetworkLock.lock(List.of(t))) {
            assertThat(NetworkLock.tables()).doesNotContain(dead, reused).contains(lock.table());
        }
    }

    /**
     * A lock held by a process in another PID namespace that shares this network namespace (pid 1 there; a pod's
     * container) survives this process's stale scan, while a table naming the same namespace and pid with another
     * start time (an owner that ended there) is removed by it: the scan decided about that namespace.
     */
    @Test
    @Timeout(300) // a JVM start under the guest's TCG takes minutes
    void aLockHeldInAnotherPidNamespaceSurvivesTheStaleScan() throws Exception {
        RequiredTools.require("unshare");
        try (JvmProcess holder = JvmProcess.start("holder", List.of("unshare", "--pid", "--fork", "--"),
                JvmProcess.classPath(), List.of(), NetworkLockHolder.class)) {
            String table = holder.expect(240_000, "TABLE ").substring("TABLE ".length());
            String[] owner = table.substring(NetworkLock.PREFIX.length()).split("_");
            assertThat(owner[1]).as("the holder's pid in its namespace").isEqualTo("1");
            assertThat(Long.parseLong(owner[0])).as("its PID namespace").isNotEqualTo(LockOwner.current().pidNamespace());
            String ended = table(new LockOwner(Long.parseLong(owner[0]), 1, Long.parseLong(owner[2]) - 1));
            nft("add table inet " + ended);
            assertThat(NetworkLock.removeStale()).contains(ended).doesNotContain(table);
            assertThat(NetworkLock.tables()).contains(table).doesNotContain(ended);
            holder.send("unlock");
            holder.expect(60_000, "UNLOCKED");
            assertThat(NetworkLock.tables()).doesNotContain(table);
        }
    }

    private static String table(LockOwner owner) {
        return NetworkLock.PREFIX + owner.name() + "_1";
    }

    @Test
    void aMissingOrUnpermittedNftSaysWhatToDo() throws Exception {
        var t = new NetworkLock.Tuple(new InetSocketAddress("127.77.0.1", 1), new InetSocketAddress("127.77.0.2", 2));
        Path dir = Files.createTempDirectory("kdirect-nft");
        Path unprivileged = dir.resolve("nft");
        // nft in a new user namespace: no CAP_NET_ADMIN over this network namespace
        Files.writeString(unprivileged, "#!/bin/sh\nexec unshare --user nft \"$@\"\n");
        Files.setPosixFilePermissions(unprivileged, PosixFilePermissions.fromString("rwx------"));
        try {
            System.setProperty(Nft.PROPERTY, dir.resolve("missing").toString());
            assertThatThrownBy(() -> NetworkLock.lock(List.of(t))).isInstanceOf(NetworkLockException.class)
                    .hasMessageContaining("install nftables: apt-get install nftables");
            System.setProperty(Nft.PROPERTY, unprivileged.toString());
            assertThatThrownBy(() -> NetworkLock.lock(List.of(t))).isInstanceOf(NetworkLockException.class)
                    .hasMessageContaining("CAP_NET_ADMIN").hasMessageContaining("sudo");
        } finally {
            System.clearProperty(Nft.PROPERTY);
            Files.delete(unprivileged);
            Files.delete(dir);
        }
        String own = NetworkLock.processPrefix();
        assertThat(NetworkLock.tables()).noneMatch(name -> name.startsWith(own));
    }

    static String nft(String command) throws Exception {
        Process p = new ProcessBuilder("nft", command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(out).isZero();
        return out;
    }

    static byte readOne(SocketChannel channel) throws Exception {
        ByteBuffer one = ByteBuffer.allocate(1);
        while (one.hasRemaining()) {
            assertThat(channel.read(one)).isNotNegative();
        }
        return one.get(0);
    }
}
