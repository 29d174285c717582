package dev.kdirect.backend.simulated;

import dev.kdirect.Errno;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The simulated process's descriptor table: like fs/file.c, a new descriptor is the lowest free number.
 * 0, 1 and 2 are taken by the (real) standard streams. A description counts its references (struct file's f_count):
 * each descriptor, and each copy in flight in an SCM_RIGHTS message; the last one to go releases it.
 */
final class FdTable {
    private static final int FIRST_FREE = 3;
    private static final int MAX_FDS = 1 << 20; // the default RLIMIT_NOFILE hard limit on Debian

    private final TreeMap<Integer, FileDescription> open = new TreeMap<>();
    private final Map<FileDescription, Integer> references = new IdentityHashMap<>();

    /** fd_install of a new reference: the lowest free descriptor, or -EMFILE. */
    synchronized int install(FileDescription description) {
        int fd = FIRST_FREE;
        for (int used : open.tailMap(FIRST_FREE).keySet()) {
            if (used != fd) {
                break;
            }
            fd++;
        }
        if (fd >= MAX_FDS) {
            return -Errno.EMFILE.value();
        }
        open.put(fd, description);
        references.merge(description, 1, Integer::sum);
        return fd;
    }

    synchronized FileDescription get(int fd) {
        return open.get(fd);
    }

    /** fget: the description behind {@code fd} with one more reference (for a message in flight), or null. */
    synchronized FileDescription hold(int fd) {
        FileDescription description = open.get(fd);
        if (description != null) {
            references.merge(description, 1, Integer::sum);
        }
        return description;
    }

    /** fput: drops one reference; the last one releases the description (outside the table's lock). */
    void drop(FileDescription description) {
        boolean last;
        synchronized (this) {
            last = references.merge(description, -1, Integer::sum) == 0;
            if (last) {
                references.remove(description);
            }
        }
        if (last) {
            description.release();
        }
    }

    /** True when some open descriptor matches: the model's view of a file's other openers. */
    synchronized boolean anyMatch(java.util.function.Predicate<FileDescription> test) {
        return open.values().stream().anyMatch(test);
    }

    /** close(2): false when {@code fd} is not open. */
    boolean close(int fd) {
        FileDescription description;
        synchronized (this) {
            description = open.remove(fd);
        }
        if (description == null) {
            return false;
        }
        drop(description);
        return true;
    }
}
