package dev.kdirect.probe;

import dev.kdirect.Feature;
import dev.kdirect.FeatureStatus;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.MapFlags;
import dev.kdirect.OpenFlags;
import dev.kdirect.Prot;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Finds a file system mounted with {@code -o dax} (or the directory named by {@code KDIRECT_PMEM_DIR} /
 * {@code -Dkdirect.pmem.dir}) and maps a small temporary file there with MAP_SHARED_VALIDATE | MAP_SYNC: only
 * a DAX mapping accepts MAP_SYNC. The file is removed again.
 */
final class DaxProbe {
    static final String DIR_PROPERTY = "kdirect.pmem.dir";
    static final String DIR_ENV = "KDIRECT_PMEM_DIR";

    private DaxProbe() {
    }

    static FeatureStatus probe(Kernel kernel) {
        List<Path> regions = HostFacts.list(Path.of("/sys/bus/nd/devices"), "region");
        Set<Path> candidates = candidates();
        if (candidates.isEmpty()) {
            String action = regions.isEmpty()
                    ? "this machine has no NVDIMM region (/sys/bus/nd/devices): add persistent memory, e.g. QEMU"
                            + " -machine nvdimm=on with -device nvdimm" + HostFacts.inRepository("ci/qemu/run")
                    : "an NVDIMM region exists but no file system is mounted with -o dax: ndctl create-namespace"
                            + " -m fsdax, mkfs.ext4 -b 4096 on /dev/pmemN, mount -o dax, then set " + DIR_ENV;
            return FeatureStatus.missing(Feature.DAX_PMEM, "no DAX mount found (" + regions.size()
                    + " NVDIMM regions)", action, null);
        }
        List<String> failures = new ArrayList<>();
        KernelException last = null;
        for (Path dir : candidates) {
            try {
                mapSync(kernel, dir);
                return FeatureStatus.real(Feature.DAX_PMEM, "MAP_SYNC mapping of a file in " + dir + " succeeded");
            } catch (KernelException e) {
                failures.add(dir + ": " + e.syscall() + " " + e.errnoName());
                last = e;
            }
        }
        return FeatureStatus.missing(Feature.DAX_PMEM, "MAP_SYNC failed in " + String.join("; ", failures),
                "mount the persistent-memory file system with -o dax (ext4 needs -b 4096) and point "
                        + DIR_ENV + " at it", last);
    }

    private static void mapSync(Kernel kernel, Path dir) throws KernelException {
        Path file = dir.resolve(".kdirect-dax-probe-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
        int fd = kernel.open(file.toString(), OpenFlags.RDWR | OpenFlags.CREAT | OpenFlags.EXCL | OpenFlags.CLOEXEC,
                0600);
        try {
            long size = kernel.pageSize();
            kernel.ftruncate(fd, size);
            MemorySegment map = kernel.mmap(MemorySegment.NULL, size, Prot.READ_WRITE,
                    MapFlags.SHARED_VALIDATE | MapFlags.SYNC, fd, 0);
            kernel.munmap(map, size);
        } finally {
            kernel.close(fd);
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // a leftover empty probe file is harmless
            }
        }
    }

    private static Set<Path> candidates() {
        Set<Path> dirs = new LinkedHashSet<>();
        String configured = System.getProperty(DIR_PROPERTY, System.getenv().getOrDefault(DIR_ENV, ""));
        if (!configured.isBlank()) {
            dirs.add(Path.of(configured));
        }
        for (String line : HostFacts.read(Path.of("/proc/mounts")).split("\n")) {
            String[] f = line.split(" ");
            if (f.length > 3 && List.of(f[3].split(",")).stream().anyMatch(o -> o.equals("dax") || o.equals("dax=always"))) {
                dirs.add(Path.of(f[1].replace("\\040", " ")));
            }
        }
        return dirs;
    }
}
