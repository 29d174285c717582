package dev.kdirect.backend;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.kdirect.SocketConstants;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.util.ArrayList;
import java.util.List;

/**
 * The one encoding of {@code struct msghdr} (56 bytes), {@code struct iovec} (16) and {@code struct cmsghdr} (16,
 * then the data) on x86-64 (include/linux/socket.h, include/uapi/linux/uio.h), for sendmsg(2) and recvmsg(2) with
 * SCM_RIGHTS. Every binding passes messages through here; the simulated kernel reads the caller's msghdr with it and
 * writes the results back as ____sys_recvmsg and scm_detach_fds (net/socket.c, net/core/scm.c) do.
 */
public final class Messages {
    /** sizeof(struct msghdr). */
    public static final int MSGHDR_SIZE = 56;
    /** sizeof(struct cmsghdr): cmsg_len (size_t), cmsg_level, cmsg_type. */
    public static final int CMSGHDR_SIZE = 16;
    /** UIO_MAXIOV: the most iovecs one call takes (EMSGSIZE beyond). */
    public static final int UIO_MAXIOV = 1024;
    private static final int IOVEC_SIZE = 16;
    private static final long NAME_LENGTH = 8;
    private static final long IOV = 16;
    private static final long IOV_LENGTH = 24;
    private static final long CONTROL = 32;
    private static final long CONTROL_LENGTH = 40;
    private static final long FLAGS = 48;
    private static final long CMSG_LEVEL = 8;
    private static final long CMSG_TYPE = 12;

    private Messages() {
    }

    /** CMSG_LEN: a control message's cmsg_len for {@code dataBytes} of data. */
    public static long cmsgLength(long dataBytes) {
        return CMSGHDR_SIZE + dataBytes;
    }

    /** CMSG_SPACE: the room a control message with {@code dataBytes} of data takes, aligned to 8. */
    public static long cmsgSpace(long dataBytes) {
        return CMSGHDR_SIZE + align(dataBytes);
    }

    private static long align(long length) {
        return (length + 7) & -8L;
    }

    /**
     * A msghdr for sendmsg: one iovec over {@code data}; the descriptors as one SCM_RIGHTS control message, or no
     * control data when there are none.
     */
    public static MemorySegment forSend(MemorySegment data, int[] descriptors, SegmentAllocator allocator) {
        MemorySegment control = MemorySegment.NULL;
        long controlLength = 0;
        if (descriptors.length > 0) {
            long payload = (long) descriptors.length * Integer.BYTES;
            controlLength = cmsgSpace(payload);
            control = allocator.allocate(controlLength, 8);
            control.fill((byte) 0);
            header(control, cmsgLength(payload));
            MemorySegment.copy(descriptors, 0, control, JAVA_INT, CMSGHDR_SIZE, descriptors.length);
        }
        return message(data, control, controlLength, allocator);
    }

    /**
     * A msghdr for recvmsg: one iovec over {@code buffer}, and a control buffer of CMSG_LEN(4 * maxDescriptors)
     * bytes, exactly room for that many descriptors (none: no control buffer at all).
     */
    public static MemorySegment forReceive(MemorySegment buffer, int maxDescriptors, SegmentAllocator allocator) {
        if (maxDescriptors == 0) {
            return message(buffer, MemorySegment.NULL, 0, allocator);
        }
        long controlLength = cmsgLength((long) maxDescriptors * Integer.BYTES);
        MemorySegment control = allocator.allocate(controlLength, 8);
        control.fill((byte) 0);
        return message(buffer, control, controlLength, allocator);
    }

    private static MemorySegment message(MemorySegment data, MemorySegment control, long controlLength,
            SegmentAllocator allocator) {
        MemorySegment iov = allocator.allocate(IOVEC_SIZE, 8);
        iov.set(JAVA_LONG, 0, data.address());
        iov.set(JAVA_LONG, 8, data.byteSize());
        MemorySegment m = allocator.allocate(MSGHDR_SIZE, 8);
        m.fill((byte) 0);
        m.set(JAVA_LONG, IOV, iov.address());
        m.set(JAVA_LONG, IOV_LENGTH, 1);
        m.set(JAVA_LONG, CONTROL, control.address());
        m.set(JAVA_LONG, CONTROL_LENGTH, controlLength);
        return m;
    }

    /** msg_namelen. */
    public static int nameLength(MemorySegment msghdr) {
        return msghdr.get(JAVA_INT, NAME_LENGTH);
    }

    /** msg_iovlen. */
    public static long iovecCount(MemorySegment msghdr) {
        return msghdr.get(JAVA_LONG, IOV_LENGTH);
    }

    /** The buffers of msg_iov, in order (call after checking {@link #iovecCount} against UIO_MAXIOV). */
    public static List<MemorySegment> iovecs(MemorySegment msghdr) {
        int count = (int) iovecCount(msghdr);
        MemorySegment iov = MemorySegment.ofAddress(msghdr.get(JAVA_LONG, IOV)).reinterpret((long) count * IOVEC_SIZE);
        List<MemorySegment> buffers = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            buffers.add(MemorySegment.ofAddress(iov.get(JAVA_LONG, (long) i * IOVEC_SIZE))
                    .reinterpret(iov.get(JAVA_LONG, (long) i * IOVEC_SIZE + 8)));
        }
        return buffers;
    }

    /** msg_control as a segment of msg_controllen bytes (NULL when there is none). */
    public static MemorySegment control(MemorySegment msghdr) {
        long address = msghdr.get(JAVA_LONG, CONTROL);
        return address == 0 ? MemorySegment.NULL : MemorySegment.ofAddress(address).reinterpret(controlLength(msghdr));
    }

    /** msg_controllen. */
    public static long controlLength(MemorySegment msghdr) {
        return msghdr.get(JAVA_LONG, CONTROL_LENGTH);
    }

    /** msg_flags. */
    public static int flags(MemorySegment msghdr) {
        return msghdr.get(JAVA_INT, FLAGS);
    }

    /** What recvmsg reports back: the control bytes used and msg_flags. */
    public static void setResult(MemorySegment msghdr, long controlUsed, int flags) {
        msghdr.set(JAVA_LONG, CONTROL_LENGTH, controlUsed);
        msghdr.set(JAVA_INT, FLAGS, flags);
    }

    /** A SOL_SOCKET / SCM_RIGHTS cmsghdr of {@code length} (cmsg_len) at the start of {@code at}. */
    public static void header(MemorySegment at, long length) {
        at.set(JAVA_LONG, 0, length);
        at.set(JAVA_INT, CMSG_LEVEL, SocketConstants.SOL_SOCKET);
        at.set(JAVA_INT, CMSG_TYPE, SocketConstants.SCM_RIGHTS);
    }

    /** One control message as read from a buffer: its cmsg_len, level and type, and where it starts. */
    public record ControlMessage(long offset, long length, int level, int type) {
    }

    /**
     * The control messages in {@code control}, walked as CMSG_FIRSTHDR and CMSG_NXTHDR walk them: each whole header
     * that starts within the buffer, aligned to 8 after the previous one's cmsg_len. Lengths are not checked here
     * (the kernel's CMSG_OK and the reader's own checks do that).
     */
    public static List<ControlMessage> controlMessages(MemorySegment control) {
        List<ControlMessage> messages = new ArrayList<>();
        long size = control.byteSize();
        long offset = 0;
        while (offset + CMSGHDR_SIZE <= size) {
            long length = control.get(JAVA_LONG, offset);
            messages.add(new ControlMessage(offset, length, control.get(JAVA_INT, offset + CMSG_LEVEL),
                    control.get(JAVA_INT, offset + CMSG_TYPE)));
            if (length < CMSGHDR_SIZE) {
                break; // CMSG_NXTHDR would loop on it: the kernel rejects it first
            }
            offset += align(length);
        }
        return messages;
    }

    /** The descriptors of the SCM_RIGHTS messages recvmsg wrote (msg_controllen bytes of msg_control). */
    public static List<Integer> receivedDescriptors(MemorySegment msghdr) {
        MemorySegment control = control(msghdr);
        List<Integer> fds = new ArrayList<>();
        for (ControlMessage c : controlMessages(control)) {
            if (c.level() == SocketConstants.SOL_SOCKET && c.type() == SocketConstants.SCM_RIGHTS) {
                long count = (Math.min(c.length(), control.byteSize() - c.offset()) - CMSGHDR_SIZE) / Integer.BYTES;
                for (long i = 0; i < count; i++) {
                    fds.add(control.get(JAVA_INT, c.offset() + CMSGHDR_SIZE + i * Integer.BYTES));
                }
            }
        }
        return fds;
    }
}
