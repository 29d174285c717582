package dev.kdirect;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class KernelReleaseTest {
    @Test
    void versionsAreComparedByTheirMainlineNumbers() {
        assertThat(KernelRelease.parse("6.1.0-41-amd64").atLeast(6, 11)).isFalse();
        assertThat(KernelRelease.parse("6.12.95+deb12-amd64").atLeast(6, 11)).isTrue();
        assertThat(KernelRelease.parse("6.11").atLeast(6, 11)).isTrue();
        assertThat(KernelRelease.parse("6.10.14").atLeast(6, 11)).isFalse();
        assertThat(KernelRelease.parse("7.0.1").atLeast(6, 11)).isTrue();
        assertThat(KernelRelease.parse("5.15.0").atLeast(6, 1)).isFalse();
        assertThat(KernelRelease.parse("weird")).isEqualTo(new KernelRelease("weird", 0, 0));
    }

    @Test
    void theRunningReleaseIsTheKernels() throws Exception {
        String osrelease = Files.readString(Path.of("/proc/sys/kernel/osrelease")).strip();
        assertThat(KernelRelease.running().text()).isEqualTo(osrelease);
        assertThat(KernelRelease.running().major()).isPositive();
    }
}
