package dev.kdirect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The typed errno: one instance per value, the kernel's names for aliases, the real kernel's numbers, and the
 * errno behind the JDK's file exceptions.
 */
class ErrnoTest {

    @TempDir
    Path dir;

    @Test
    void eachValueHasOneInstanceAndTheKernelsName() {
        assertThat(Errno.of(Errno.EINVAL.value())).isSameAs(Errno.EINVAL);
        assertThat(Errno.ENOTSUP).isSameAs(Errno.EOPNOTSUPP);
        assertThat(Errno.EOPNOTSUPP.name()).isEqualTo("EOPNOTSUPP"); // the kernel's, not POSIX's ENOTSUP
        assertThat(Errno.EWOULDBLOCK).isSameAs(Errno.EAGAIN);
        assertThat(Errno.EAGAIN.name()).isEqualTo("EAGAIN");
        Errno unknown = Errno.of(100_000);
        assertThat(unknown.name()).isEqualTo("errno 100000");
        assertThat(unknown).isEqualTo(Errno.of(100_000)).isNotEqualTo(Errno.EINVAL);
    }

    @Test
    void theRealKernelsFailureIsTheConstant() throws Exception {
        KernelException e = catchThrowableOfType(KernelException.class, () -> Kernels.real().close(-1));
        assertThat(e.error()).isSameAs(Errno.EBADF);
        assertThat(e.is(Errno.EBADF)).isTrue();
        assertThat(e.is(Errno.EINVAL)).isFalse();
        assertThat(e.errno()).isEqualTo(Errno.EBADF.value());
        assertThat(e.getMessage()).contains("EBADF (" + Errno.EBADF.description() + ")");
    }

    @Test
    void theJdksFileExceptionsMapToTheirErrno() throws IOException {
        Path file = Files.writeString(dir.resolve("file"), "x");
        assertThat(Errno.of(failure(() -> Files.readAllBytes(dir.resolve("missing"))))).isSameAs(Errno.ENOENT);
        assertThat(Errno.of(failure(() -> Files.readAllBytes(dir)))).isSameAs(Errno.EISDIR);
        assertThat(Errno.of(failure(() -> Files.createDirectory(file.resolve("below"))))).isSameAs(Errno.ENOTDIR);
        assertThat(Errno.of(failure(() -> Files.createFile(file)))).isSameAs(Errno.EEXIST);
        assertThat(Errno.of(new AccessDeniedException(file.toString()))).isSameAs(Errno.EACCES);
        assertThat(Errno.of(new IOException("something else"))).isSameAs(Errno.EIO);
    }

    private interface FileOperation {
        void run() throws IOException;
    }

    private static IOException failure(FileOperation operation) {
        IOException e = catchThrowableOfType(IOException.class, operation::run);
        assertThat(e).isNotNull();
        return e;
    }
}
