package dev.kdirect.backend.simulated;

import java.util.TreeMap;

/**
 * The simulated process's descriptor table: like fs/file.c, a new descriptor is the lowest free number.
 * 0, 1 and 2 are taken by the (real) standard streams.
 */
final class FdTable {
    private static final int FIRST_FREE = 3;
    private static final int MAX_FDS = 1 << 20; // the default RLIMIT_NOFILE hard limit on Debian

    private final TreeMap<Integer, FileDescription> open = new TreeMap<>();

    synchronized int install(FileDescription description) {
        int fd = FIRST_FREE;
        for (int used : open.tailMap(FIRST_FREE).keySet()) {
            if (used != fd) {
                break;
            }
            fd++;
        }
        if (fd >= MAX_FDS) {
            return -Errno.EMFILE;
        }
        open.put(fd, description);
        return fd;
    }

    synchronized FileDescription get(int fd) {
        return open.get(fd);
    }

    /** True when some open descriptor matches: the model's view of a file's other openers. */
    synchronized boolean anyMatch(java.util.function.Predicate<FileDescription> test) {
        return open.values().stream().anyMatch(test);
    }

    synchronized FileDescription remove(int fd) {
        return open.remove(fd);
    }
}
