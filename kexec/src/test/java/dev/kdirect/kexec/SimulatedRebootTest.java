package dev.kdirect.kexec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.kdirect.Binding;
import dev.kdirect.Kernel;
import dev.kdirect.SimulatedReboot;
import dev.kdirect.contract.ContractKernels;
import dev.kdirect.contract.TestImages;
import dev.kdirect.testing.SimulatedMachine;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The simulated kexec reboot: a record of the boot, or purgatory's hang when a segment changed after load. */
class SimulatedRebootTest {
    @TempDir
    Path dir;

    private final Kernel kernel = ContractKernels.kernel(Binding.SIMULATED);
    private final Kexec kexec = Kexec.on(kernel);

    @Test
    void rebootBootsTheLoadedKernelWithItsCommandLineAndInitrd() throws Exception {
        Path image = TestImages.write(dir, "bzImage", TestImages.synthetic());
        Path initrd = Files.write(dir.resolve("initrd"), new byte[] {4, 5, 6});
        kexec.load(LoadRequest.of(image, "console=ttyS0 kdirect.marker=42").withInitrd(initrd));
        SimulatedReboot boot = catchThrowableOfType(SimulatedReboot.class,
                () -> kexec.reboot(RebootConfirmation.REBOOT_NOW));
        assertThat(boot.hung()).isFalse();
        assertThat(boot.kernelVersion()).isEqualTo("6.1.0-synthetic (kdirect test image)");
        assertThat(boot.commandLine()).isEqualTo("console=ttyS0 kdirect.marker=42");
        assertThat(boot.initrdSha256()).isEqualTo(
                HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(new byte[] {4, 5, 6})));
    }

    @Test
    void aSegmentChangedAfterLoadHangsInPurgatory() throws Exception {
        kexec.load(LoadRequest.of(TestImages.write(dir, "bzImage", TestImages.synthetic()), ""));
        SimulatedMachine.corruptLoadedKexecKernel(kernel);
        SimulatedReboot boot = catchThrowableOfType(SimulatedReboot.class,
                () -> kexec.reboot(RebootConfirmation.REBOOT_NOW));
        assertThat(boot.hung()).isTrue();
        assertThat(boot).hasMessageContaining("purgatory");
    }

    @Test
    void rebootWithNothingLoadedIsRefusedBeforeTheSyscall() {
        assertThatThrownBy(() -> kexec.reboot(RebootConfirmation.REBOOT_NOW))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("load one first");
        assertThatThrownBy(() -> SimulatedMachine.corruptLoadedKexecKernel(kernel))
                .isInstanceOf(IllegalStateException.class);
    }
}
