package dev.kdirect.tcprepair;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The process that holds a network lock, named so that no other process is taken for it: the inode of its PID
 * namespace (/proc/self/ns/pid), its pid in that namespace, and its start time (clock ticks after boot, field 22 of
 * /proc/PID/stat). A pid alone is not enough: a process in another PID namespace that shares the network namespace
 * (every Kubernetes pod) has a pid that means another process, or none, here; and a pid is reused after its process
 * ended. The start time tells a reused pid apart.
 */
record LockOwner(long pidNamespace, long pid, long startTime) {
    /** This process, as it sees itself. */
    static LockOwner current() throws IOException {
        return new LockOwner(namespaceInode(Path.of("/proc/self/ns/pid")), ProcessHandle.current().pid(),
                startTime(Path.of("/proc/self/stat")));
    }

    /** The part of a table name that names the owner: namespace_pid_starttime. */
    String name() {
        return pidNamespace + "_" + pid + "_" + startTime;
    }

    /**
     * The processes this /proc shows, by (PID namespace, pid there), with their start times. A /proc shows every
     * process of its own PID namespace and of the namespaces below it, so a namespace with any process listed here
     * has all its processes listed ({@link #isGone}). A process whose namespace link cannot be read (a container
     * runtime may deny even root that for pid 1) is kept as (pid in its namespace, start time): it could be any
     * owner with those. A process that cannot be read at all makes the view incomplete: then nothing is gone.
     */
    record Processes(Map<List<Long>, Long> startTimes, Set<List<Long>> unplaced, Set<Long> namespaces,
            boolean complete) {
        static Processes scan() throws IOException {
            Map<List<Long>, Long> startTimes = new HashMap<>();
            Set<List<Long>> unplaced = new HashSet<>();
            Set<Long> namespaces = new HashSet<>();
            boolean complete = true;
            try (Stream<Path> entries = Files.list(Path.of("/proc"))) {
                for (Path p : entries.filter(e -> e.getFileName().toString().matches("\\d+")).toList()) {
                    try {
                        long pid = pidInOwnNamespace(p.resolve("status"));
                        long start = startTime(p.resolve("stat"));
                        try {
                            long namespace = namespaceInode(p.resolve("ns/pid"));
                            startTimes.put(List.of(namespace, pid), start);
                            namespaces.add(namespace);
                        } catch (java.nio.file.AccessDeniedException hidden) {
                            unplaced.add(List.of(pid, start));
                        }
                    } catch (NoSuchFileException exited) {
                        // ended while listed: not a lock owner any more
                    } catch (IOException | RuntimeException unreadable) {
                        complete = false;
                    }
                }
            }
            return new Processes(startTimes, unplaced, namespaces, complete);
        }

        /** True when the owner is known dead (or its pid reused); false when it lives or this view cannot tell. */
        boolean isGone(LockOwner owner) {
            Long start = startTimes.get(List.of(owner.pidNamespace(), owner.pid()));
            if (start != null) {
                return start != owner.startTime();
            }
            return complete && namespaces.contains(owner.pidNamespace())
                    && !unplaced.contains(List.of(owner.pid(), owner.startTime()));
        }
    }

    private static long namespaceInode(Path link) throws IOException {
        String target = Files.readSymbolicLink(link).toString(); // "pid:[4026531836]"
        return Long.parseLong(target.substring(target.indexOf('[') + 1, target.indexOf(']')));
    }

    /** The last NSpid entry of /proc/PID/status: the pid in the process's own namespace. */
    private static long pidInOwnNamespace(Path status) throws IOException {
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("NSpid:")) {
                String[] pids = line.substring("NSpid:".length()).trim().split("\\s+");
                return Long.parseLong(pids[pids.length - 1]);
            }
        }
        throw new IOException(status + " has no NSpid line (Linux 4.1 or later has)");
    }

    /** Field 22 of /proc/PID/stat; the command name (field 2) may hold spaces and parentheses: count from its end. */
    private static long startTime(Path stat) throws IOException {
        String line = Files.readString(stat);
        String[] after = line.substring(line.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(after[22 - 3]);
    }
}
