package dev.kdirect;

import java.util.List;

/**
 * What {@link Kernel#recvmsg} received: the bytes read into the buffer, the descriptors that came with them (now
 * open in this process; the caller closes them), and the msg_flags the kernel reported.
 *
 * @param bytes the bytes received; 0 at end of stream
 * @param descriptors the new descriptors, from SCM_RIGHTS control messages
 * @param flags msg_flags: {@link SocketConstants#MSG_CTRUNC} when descriptors were dropped for want of room
 */
public record ReceivedMessage(long bytes, List<Integer> descriptors, int flags) {
    public ReceivedMessage {
        descriptors = List.copyOf(descriptors);
    }

    /** True when the kernel discarded control data (descriptors it closed) for want of room: MSG_CTRUNC. */
    public boolean controlTruncated() {
        return (flags & SocketConstants.MSG_CTRUNC) != 0;
    }
}
