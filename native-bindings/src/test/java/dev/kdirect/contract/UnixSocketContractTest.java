package dev.kdirect.contract;

import static dev.kdirect.SocketConstants.AF_INET;
import static dev.kdirect.SocketConstants.AF_UNIX;
import static dev.kdirect.SocketConstants.MSG_CMSG_CLOEXEC;
import static dev.kdirect.SocketConstants.MSG_CTRUNC;
import static dev.kdirect.SocketConstants.MSG_DONTWAIT;
import static dev.kdirect.SocketConstants.MSG_NOSIGNAL;
import static dev.kdirect.SocketConstants.SCM_MAX_FD;
import static dev.kdirect.SocketConstants.SOCK_CLOEXEC;
import static dev.kdirect.SocketConstants.SOCK_NONBLOCK;
import static dev.kdirect.SocketConstants.SOCK_STREAM;
import static dev.kdirect.SocketConstants.SOL_SOCKET;
import static dev.kdirect.contract.ContractKernels.assertErrno;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.assertj.core.api.Assertions.assertThat;

import dev.kdirect.Binding;
import dev.kdirect.Errno;
import dev.kdirect.Kernel;
import dev.kdirect.KernelException;
import dev.kdirect.OpenFlags;
import dev.kdirect.ReceivedMessage;
import dev.kdirect.SocketConstants;
import dev.kdirect.testing.RequiresRealKernel;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * socketpair, sendmsg and recvmsg with SCM_RIGHTS on every binding, the same calls and the same errno: a descriptor
 * sent is the same open file under a new number; at most SCM_MAX_FD (253) travel in one message (include/net/scm.h,
 * scm_fp_copy in net/core/scm.c: EINVAL beyond, EBADF for one that is not open, checked before the connection);
 * a control buffer too short closes the rest and sets MSG_CTRUNC (scm_detach_fds); a stream read stops after the
 * bytes that carried descriptors, and bytes are needed to carry them (unix_stream_sendmsg and
 * unix_stream_read_generic in net/unix/af_unix.c); a peer that closed with data unread leaves ECONNRESET once, then
 * end of stream, and EPIPE to a sender.
 */
@ParameterizedClass(name = "{0}")
@EnumSource(Binding.class)
@RequiresRealKernel
class UnixSocketContractTest {
    @Parameter
    Binding binding;

    @TempDir
    Path dir;

    Kernel kernel;
    Arena arena;
    final List<Integer> open = new ArrayList<>();

    @BeforeEach
    void setUp() {
        kernel = TestDeadline.watched(ContractKernels.kernel(binding)); // a call the model never wakes fails
        arena = Arena.ofConfined();
    }

    @AfterEach
    void tearDown() {
        for (int fd : open) {
            try {
                kernel.close(fd);
            } catch (KernelException alreadyClosedByTheTest) {
                // closed on purpose
            }
        }
        arena.close();
    }

    private int[] pair() throws KernelException {
        int[] pair = kernel.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        open.add(pair[0]);
        open.add(pair[1]);
        return pair;
    }

    /** A file holding {@code text}, opened read-write. */
    private int file(String name, String text) throws KernelException {
        int fd = kernel.open(dir.resolve(name).toString(), OpenFlags.CREAT | OpenFlags.RDWR | OpenFlags.CLOEXEC, 0600);
        open.add(fd);
        kernel.pwrite(fd, bytes(text), 0);
        return fd;
    }

    private MemorySegment bytes(String text) {
        byte[] raw = text.getBytes(StandardCharsets.US_ASCII);
        MemorySegment s = arena.allocate(Math.max(1, raw.length)).asSlice(0, raw.length);
        MemorySegment.copy(raw, 0, s, JAVA_BYTE, 0, raw.length);
        return s;
    }

    private long send(int fd, String text, int... descriptors) throws KernelException {
        return kernel.sendmsg(fd, bytes(text), descriptors, MSG_NOSIGNAL);
    }

    /** A non-blocking receive of up to 16 bytes with room for {@code room} descriptors; received ones are closed later. */
    private Received receive(int fd, int room) throws KernelException {
        MemorySegment buffer = arena.allocate(16);
        ReceivedMessage m = kernel.recvmsg(fd, buffer, room, MSG_DONTWAIT);
        open.addAll(m.descriptors());
        return new Received(new String(buffer.asSlice(0, m.bytes()).toArray(JAVA_BYTE), StandardCharsets.US_ASCII),
                m);
    }

    private record Received(String text, ReceivedMessage message) {
    }

    private String read(int fd) throws KernelException {
        MemorySegment buffer = arena.allocate(64);
        long n = kernel.pread(fd, buffer, 0);
        return new String(buffer.asSlice(0, n).toArray(JAVA_BYTE), StandardCharsets.US_ASCII);
    }

    @Test
    void onlyUnixSocketsComeInPairsAndUnknownFlagsAreRefusedFirst() throws Exception {
        int[] pair = pair();
        assertThat(pair[0]).isNotEqualTo(pair[1]);
        assertErrno(Errno.EOPNOTSUPP, () -> kernel.socketpair(AF_INET, SOCK_STREAM, 0));
        assertErrno(Errno.EAFNOSUPPORT, () -> kernel.socketpair(4242, SOCK_STREAM, 0));
        assertErrno(Errno.EINVAL, () -> kernel.socketpair(4242, SOCK_STREAM | 0x100, 0));
        assertErrno(Errno.EPROTONOSUPPORT, () -> kernel.socketpair(AF_UNIX, SOCK_STREAM, 6));
    }

    @Test
    void aDescriptorSentIsTheSameOpenFileUnderANewNumberAndOutlivesTheSendersCopy() throws Exception {
        int[] pair = pair();
        int file = file("passed", "the same file");
        assertThat(send(pair[0], "x", file)).isEqualTo(1);
        kernel.close(file); // the message in flight holds the file
        open.remove(Integer.valueOf(file));
        Received r = receive(pair[1], 1);
        assertThat(r.text()).isEqualTo("x");
        assertThat(r.message().descriptors()).hasSize(1);
        assertThat(r.message().controlTruncated()).isFalse();
        assertThat(read(r.message().descriptors().getFirst())).isEqualTo("the same file");
    }

    @Test
    void atMostScmMaxFdDescriptorsTravelInOneMessage() throws Exception {
        int[] pair = pair();
        int file = file("many", "many");
        int[] most = new int[SCM_MAX_FD];
        Arrays.fill(most, file);
        assertThat(send(pair[0], "m", most)).isEqualTo(1);
        Received r = receive(pair[1], SCM_MAX_FD);
        assertThat(r.message().descriptors()).hasSize(SCM_MAX_FD).doesNotHaveDuplicates();
        assertThat(r.message().controlTruncated()).isFalse();
        int[] tooMany = new int[SCM_MAX_FD + 1];
        Arrays.fill(tooMany, file);
        assertErrno(Errno.EINVAL, () -> send(pair[0], "n", tooMany));
        assertErrno(Errno.EAGAIN, () -> receive(pair[1], 1)); // nothing was sent
    }

    @Test
    void aDescriptorThatIsNotOpenIsEbadfBeforeTheConnectionIsLookedAt() throws Exception {
        int[] pair = pair();
        int unconnected = kernel.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        open.add(unconnected);
        int file = file("closed", "c");
        kernel.close(file); // the highest number open: nothing reuses it below
        open.remove(Integer.valueOf(file));
        assertErrno(Errno.EBADF, () -> send(pair[0], "b", file));
        assertErrno(Errno.EBADF, () -> send(pair[0], "b", -1));
        assertErrno(Errno.EBADF, () -> send(unconnected, "b", file));
        assertErrno(Errno.ENOTCONN, () -> send(unconnected, "b"));
        assertErrno(Errno.EINVAL, () -> receive(unconnected, 1));
        assertErrno(Errno.EBADF, () -> send(file, "b"));
    }

    @Test
    void aShortControlBufferClosesTheRestAndSetsMsgCtrunc() throws Exception {
        int[] pair = pair();
        int file = file("three", "3");
        send(pair[0], "a", file, file, file);
        send(pair[0], "b", file, file);
        Received one = receive(pair[1], 1);
        assertThat(one.text()).isEqualTo("a");
        assertThat(one.message().descriptors()).hasSize(1);
        assertThat(one.message().controlTruncated()).isTrue();
        Received none = receive(pair[1], 0);
        assertThat(none.text()).isEqualTo("b");
        assertThat(none.message().descriptors()).isEmpty();
        assertThat(none.message().controlTruncated()).isTrue();
    }

    @Test
    void aStreamReadStopsAfterTheBytesThatCarriedDescriptors() throws Exception {
        int[] pair = pair();
        int file = file("glue", "g");
        send(pair[0], "ab");
        send(pair[0], "cd", file);
        send(pair[0], "ef");
        Received first = receive(pair[1], 2);
        assertThat(first.text()).isEqualTo("abcd");
        assertThat(first.message().descriptors()).hasSize(1);
        Received second = receive(pair[1], 2);
        assertThat(second.text()).isEqualTo("ef");
        assertThat(second.message().descriptors()).isEmpty();
        assertThat(second.message().controlTruncated()).isFalse();
    }

    @Test
    void descriptorsNeedBytesToTravelOnAStream() throws Exception {
        int[] pair = pair();
        int file = file("empty", "e");
        assertThat(send(pair[0], "", file)).isZero();
        assertErrno(Errno.EAGAIN, () -> receive(pair[1], 1));
    }

    @Test
    void msgCmsgCloexecIsReportedBackInMsgFlags() throws Exception {
        int[] pair = pair();
        int file = file("cloexec", "c");
        send(pair[0], "c", file);
        MemorySegment buffer = arena.allocate(4);
        ReceivedMessage m = kernel.recvmsg(pair[1], buffer, 1, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        open.addAll(m.descriptors());
        assertThat(m.flags()).isEqualTo(MSG_CMSG_CLOEXEC);
        assertThat(m.descriptors()).hasSize(1);
    }

    @Test
    void aPeerClosedWithDataUnreadLeavesEconnresetOnceThenEndOfStreamAndEpipe() throws Exception {
        int[] pair = pair();
        send(pair[1], "unread");
        kernel.close(pair[0]);
        open.remove(Integer.valueOf(pair[0]));
        assertErrno(Errno.ECONNRESET, () -> receive(pair[1], 1));
        assertThat(receive(pair[1], 1).message().bytes()).isZero();
        assertErrno(Errno.EPIPE, () -> send(pair[1], "late"));
    }

    /** Closes {@code fd} now, not at the end. */
    private void closeNow(int fd) throws KernelException {
        open.remove(Integer.valueOf(fd));
        kernel.close(fd);
    }

    /**
     * True once the last reference to {@code pair[0]} is gone: its peer then reads end of stream (a descriptor
     * still in flight, or held by a message nobody frees, keeps it open and the read says EAGAIN).
     */
    private boolean released(int[] pair) throws KernelException {
        closeNow(pair[0]);
        return receive(pair[1], 0).message().bytes() == 0;
    }

    @Test
    void aNonBlockingPairSaysEagainWithoutMsgDontwait() throws Exception {
        int[] pair = kernel.socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        open.add(pair[0]);
        open.add(pair[1]);
        assertErrno(Errno.EAGAIN, () -> kernel.recvmsg(pair[1], arena.allocate(4), 0, 0));
    }

    @Test
    void socketLevelOptionsAnswerOnAUnixSocketAndTcpLevelOnesAreEopnotsupp() throws Exception {
        // __sys_getsockopt (net/socket.c): SOL_SOCKET is sk_getsockopt's for every family; other levels go to the
        // protocol's getsockopt, which a Unix stream socket does not have
        int[] pair = pair();
        MemorySegment value = arena.allocate(JAVA_INT);
        assertThat(kernel.getsockopt(pair[0], SOL_SOCKET, SocketConstants.SO_TYPE, value)).isEqualTo(4);
        assertThat(value.get(JAVA_INT, 0)).isEqualTo(SOCK_STREAM);
        assertErrno(Errno.EOPNOTSUPP, () -> kernel.getsockopt(pair[0], SocketConstants.SOL_TCP,
                SocketConstants.TCP_NODELAY, value));
    }

    @Test
    void aReadFillsTheBufferAcrossMessagesAndLeavesTheRestQueued() throws Exception {
        // unix_stream_read_generic: a read copies from the next skb only what still fits; the rest stays queued
        int[] pair = pair();
        send(pair[0], "ab");
        send(pair[0], "cd");
        MemorySegment three = arena.allocate(3);
        ReceivedMessage m = kernel.recvmsg(pair[1], three, 0, MSG_DONTWAIT);
        assertThat(m.bytes()).isEqualTo(3);
        assertThat(new String(three.toArray(JAVA_BYTE), StandardCharsets.US_ASCII)).isEqualTo("abc");
        assertThat(receive(pair[1], 0).text()).isEqualTo("d");
    }

    @Test
    void theEndOfTheStreamStillReportsMsgCmsgCloexec() throws Exception {
        // ____sys_recvmsg (net/socket.c) writes msg_flags, with the MSG_CMSG_CLOEXEC asked for, after every read
        // that succeeds, the end of the stream's included
        int[] pair = pair();
        closeNow(pair[0]);
        ReceivedMessage m = kernel.recvmsg(pair[1], arena.allocate(4), 1, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        assertThat(m.bytes()).isZero();
        assertThat(m.flags()).isEqualTo(MSG_CMSG_CLOEXEC);
        assertThat(m.descriptors()).isEmpty();
    }

    @Test
    void aReadJoinsMessagesWithoutDescriptorsAndTakesDescriptorsOnlyWithTheirBytes() throws Exception {
        // unix_stream_read_generic: skbs are copied until the buffer is full; the descriptors of an skb are taken
        // when its bytes are read, and a read stops after them
        int[] pair = pair();
        send(pair[0], "ab");
        send(pair[0], "cd");
        assertThat(receive(pair[1], 1).text()).isEqualTo("abcd");
        send(pair[0], "ef");
        send(pair[0], "gh", file("late", "l"));
        MemorySegment two = arena.allocate(2);
        ReceivedMessage first = kernel.recvmsg(pair[1], two, 1, MSG_DONTWAIT);
        open.addAll(first.descriptors());
        assertThat(first.bytes()).isEqualTo(2);
        assertThat(first.descriptors()).isEmpty();
        Received second = receive(pair[1], 1);
        assertThat(second.text()).isEqualTo("gh");
        assertThat(second.message().descriptors()).hasSize(1);
    }

    @Test
    void descriptorsOfASendThatSentNothingAreReleased() throws Exception {
        // scm_destroy drops the references __scm_send took when no skb carries them
        int[] carrier = pair();
        int[] empty = pair();
        assertThat(send(carrier[0], "", empty[0])).isZero();
        assertThat(released(empty)).isTrue();

        int unconnected = kernel.socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        open.add(unconnected);
        int[] refused = pair();
        assertErrno(Errno.ENOTCONN, () -> send(unconnected, "x", refused[0]));
        assertThat(released(refused)).isTrue();
    }

    @Test
    void descriptorsAMessageCarriedAreReleasedWhenReceivedTruncatedOrPurgedUnread() throws Exception {
        int[] carrier = pair();
        int[] truncated = pair();
        send(carrier[0], "t", truncated[0]);
        Received r = receive(carrier[1], 0); // no room: scm_detach_fds closes it (MSG_CTRUNC)
        assertThat(r.message().flags() & MSG_CTRUNC).isEqualTo(MSG_CTRUNC);
        assertThat(released(truncated)).isTrue();

        int[] received = pair();
        send(carrier[0], "r", received[0]);
        int copy = receive(carrier[1], 1).message().descriptors().getFirst();
        closeNow(copy); // the received descriptor holds the only reference left besides the sender's
        assertThat(released(received)).isTrue();

        int[] purged = pair();
        send(carrier[0], "p", purged[0]);
        closeNow(carrier[1]); // unix_release_sock purges the unread skb and its descriptors
        assertThat(released(purged)).isTrue();
    }

    @Test
    void aBlockedReceiverWakesForDataAndForThePeersClose() throws Exception {
        int[] pair = pair();
        try (Arena shared = Arena.ofShared()) {
            for (boolean byClose : new boolean[] {false, true}) {
                MemorySegment buffer = shared.allocate(4);
                long[] got = {-1};
                Thread receiver = Thread.ofPlatform().start(() -> {
                    try {
                        got[0] = kernel.recvmsg(pair[1], buffer, 0, 0).bytes();
                    } catch (KernelException e) {
                        throw new IllegalStateException(e);
                    }
                });
                if (!binding.isReal()) {
                    // on the model the receiver must be waiting first, or a lost wake-up would go unseen; on the
                    // real kernel its thread is in the syscall either way, and the answer is the same
                    while (receiver.getState() != Thread.State.WAITING && receiver.isAlive()) {
                        Thread.onSpinWait();
                    }
                }
                if (byClose) {
                    closeNow(pair[0]);
                } else {
                    send(pair[0], "w");
                }
                receiver.join(TestDeadline.get());
                assertThat(receiver.isAlive()).as("the receiver woke").isFalse();
                assertThat(got[0]).isEqualTo(byClose ? 0 : 1);
            }
        }
    }
}
