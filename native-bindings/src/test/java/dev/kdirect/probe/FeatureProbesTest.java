package dev.kdirect.probe;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Credentials;
import dev.kdirect.Errno;
import dev.kdirect.Feature;
import dev.kdirect.FeatureStatus;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.Kernels;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The probes' logic, run against simulated processes whose privileges and mounts the test chooses. */
class FeatureProbesTest {

    @AfterEach
    void clearPmemDir() {
        System.clearProperty(DaxProbe.DIR_PROPERTY);
    }

    @Test
    void aSimulatedRootProcessHasEveryFeatureButDax() {
        Kernel root = Kernels.newSimulated(Credentials.root(), List.of());
        for (Feature f : List.of(Feature.PKEYS, Feature.TCP_REPAIR, Feature.KEXEC_FILE_LOAD, Feature.MEMORY_FAILURE)) {
            FeatureStatus status = FeatureProbes.probe(f, root);
            assertThat(status.real()).as(status.toString()).isTrue();
            assertThat(status.action()).isEmpty();
        }
    }

    @Test
    void anUnprivilegedProcessIsToldWhichPrivilegeToGet() {
        Kernel user = Kernels.newSimulated(Credentials.user(1000), List.of());
        FeatureStatus tcp = FeatureProbes.probe(Feature.TCP_REPAIR, user);
        assertThat(tcp.real()).isFalse();
        assertThat(tcp.action()).contains("CAP_NET_ADMIN").contains("sudo");
        assertThat(((KernelException) tcp.cause()).error()).isEqualTo(Errno.EPERM);

        FeatureStatus kexec = FeatureProbes.probe(Feature.KEXEC_FILE_LOAD, user);
        assertThat(kexec.real()).isFalse();
        assertThat(kexec.evidence()).contains("EPERM");

        FeatureStatus hwpoison = FeatureProbes.probe(Feature.MEMORY_FAILURE, user);
        assertThat(hwpoison.real()).isFalse();
        assertThat(hwpoison.evidence()).contains("CAP_SYS_ADMIN");
        assertThat(hwpoison.action()).contains("sudo");
    }

    @Test
    void mapSyncSucceedsOnlyOnADaxMount(@TempDir Path dax, @TempDir Path plain) {
        System.setProperty(DaxProbe.DIR_PROPERTY, dax.toString());
        FeatureStatus onDax = FeatureProbes.probe(Feature.DAX_PMEM, Kernels.newSimulated(Credentials.root(), List.of(dax)));
        assertThat(onDax.real()).as(onDax.toString()).isTrue();
        assertThat(dax).isEmptyDirectory(); // the probe file is removed

        System.setProperty(DaxProbe.DIR_PROPERTY, plain.toString());
        FeatureStatus notDax = FeatureProbes.probe(Feature.DAX_PMEM, Kernels.newSimulated(Credentials.root(), List.of(dax)));
        assertThat(notDax.real()).isFalse();
        assertThat(notDax.evidence()).contains("mmap EOPNOTSUPP");
        assertThat(notDax.action()).contains("-o dax");
    }
}
