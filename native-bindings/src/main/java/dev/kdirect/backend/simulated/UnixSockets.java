package dev.kdirect.backend.simulated;

import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.kdirect.Errno;
import dev.kdirect.SocketConstants;
import dev.kdirect.backend.Messages;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * socketpair(2), sendmsg(2) and recvmsg(2) on simulated AF_UNIX stream sockets, with descriptor passing:
 * __sys_socketpair and ____sys_sendmsg / ____sys_recvmsg (net/socket.c), unix_socketpair, unix_stream_sendmsg and
 * unix_stream_read_generic (net/unix/af_unix.c), __scm_send, scm_fp_copy and scm_detach_fds (net/core/scm.c), each
 * check in the kernel's order. A descriptor sent is the same open file (struct file) in flight, then installed at
 * the lowest free number by the read that takes it. MSG_PEEK and SCM_CREDENTIALS are not modelled and fail loudly,
 * as do sendmsg and recvmsg on TCP sockets.
 */
final class UnixSockets {
    private static final int SOCK_TYPE_MASK = 0xf;
    private static final int SCM_CREDENTIALS = 2;

    private final FdTable fds;
    private final SimulatedSockets sockets;

    UnixSockets(FdTable fds, SimulatedSockets sockets) {
        this.fds = fds;
        this.sockets = sockets;
    }

    /** __sys_socketpair: flag bits, the family (sock_create), the protocol (unix_create), then the pair. */
    int socketpair(int domain, int type, int protocol, MemorySegment pair) {
        if ((type & ~(SOCK_TYPE_MASK | SocketConstants.SOCK_NONBLOCK | SocketConstants.SOCK_CLOEXEC)) != 0) {
            return -Errno.EINVAL.value();
        }
        if (domain != SocketConstants.AF_UNIX && domain != SocketConstants.AF_INET
                && domain != SocketConstants.AF_INET6) {
            return -Errno.EAFNOSUPPORT.value();
        }
        if ((type & SOCK_TYPE_MASK) != SocketConstants.SOCK_STREAM) {
            throw new UnsupportedOperationException("the simulated kernel models stream sockets only");
        }
        if (domain != SocketConstants.AF_UNIX) {
            return protocol == 0 || protocol == SocketConstants.IPPROTO_TCP ? -Errno.EOPNOTSUPP.value()
                    : -Errno.EPROTONOSUPPORT.value(); // inet_create, then sock_no_socketpair
        }
        if (protocol != 0 && protocol != SocketConstants.AF_UNIX) {
            return -Errno.EPROTONOSUPPORT.value();
        }
        boolean nonblocking = (type & SocketConstants.SOCK_NONBLOCK) != 0;
        UnixEndpoint[] ends = UnixEndpoint.pair(fds);
        int first = fds.install(new SimulatedSocket(domain, SocketConstants.SOCK_STREAM, nonblocking, null, ends[0]));
        if (first < 0) {
            return first;
        }
        int second = fds.install(new SimulatedSocket(domain, SocketConstants.SOCK_STREAM, nonblocking, null, ends[1]));
        if (second < 0) {
            fds.close(first);
            return second;
        }
        pair.set(JAVA_INT, 0, first);
        pair.set(JAVA_INT, 4, second);
        return 0;
    }

    /**
     * ____sys_sendmsg then unix_stream_sendmsg: the iovecs, the control length, the control messages (__scm_send:
     * CMSG_OK, SCM_RIGHTS with at most SCM_MAX_FD descriptors in all, each one open, else EBADF), then the
     * connection (ENOTCONN, EPIPE), then the bytes, which carry the descriptors; none sends nothing and drops them.
     */
    long sendmsg(int fd, MemorySegment msghdr, int flags) {
        UnixEndpoint u = unix(fd, flags, SocketConstants.MSG_DONTWAIT | SocketConstants.MSG_NOSIGNAL, "sendmsg");
        if (u == null) {
            return sockets.lookupError(fd);
        }
        if (Long.compareUnsigned(Messages.iovecCount(msghdr), Messages.UIO_MAXIOV) > 0) {
            return -Errno.EMSGSIZE.value();
        }
        if (Long.compareUnsigned(Messages.controlLength(msghdr), Integer.MAX_VALUE) > 0) {
            return -Errno.ENOBUFS.value();
        }
        List<FileDescription> files = new ArrayList<>();
        int error = scmSend(Messages.control(msghdr), files);
        if (error == 0) {
            error = Messages.nameLength(msghdr) != 0 ? (u.connected ? -Errno.EISCONN.value() : -Errno.EOPNOTSUPP.value())
                    : !u.connected ? -Errno.ENOTCONN.value() : 0;
        }
        if (error != 0) {
            files.forEach(fds::drop);
            return error;
        }
        byte[] data = gather(Messages.iovecs(msghdr));
        synchronized (u.lock) {
            if (u.shutdown || u.peer == null) {
                error = -Errno.EPIPE.value(); // SEND_SHUTDOWN after the peer's close (SIGPIPE unless MSG_NOSIGNAL)
            } else if (data.length > 0) {
                u.peer.queue.add(new UnixEndpoint.Segment(data, files.isEmpty() ? null : files));
                u.lock.notifyAll();
                return data.length;
            }
        }
        files.forEach(fds::drop); // nothing sent: no sk_buff carries them
        return error != 0 ? error : 0;
    }

    /** __scm_send's walk: each header must fit (CMSG_OK); SOL_SOCKET messages are SCM_RIGHTS, else EINVAL. */
    private int scmSend(MemorySegment control, List<FileDescription> files) {
        if (control.byteSize() < Messages.CMSGHDR_SIZE) {
            return 0; // CMSG_FIRSTHDR is NULL
        }
        for (Messages.ControlMessage c : Messages.controlMessages(control)) {
            if (c.length() < Messages.CMSGHDR_SIZE || c.length() > control.byteSize() - c.offset()) {
                return -Errno.EINVAL.value();
            }
            if (c.level() != SocketConstants.SOL_SOCKET) {
                continue;
            }
            if (c.type() == SCM_CREDENTIALS) {
                throw new UnsupportedOperationException("the simulated kernel does not model SCM_CREDENTIALS");
            }
            if (c.type() != SocketConstants.SCM_RIGHTS) {
                return -Errno.EINVAL.value();
            }
            int error = fpCopy(control, c, files);
            if (error != 0) {
                return error;
            }
        }
        return 0;
    }

    /** scm_fp_copy: the count (none is nothing, above SCM_MAX_FD in one or in all is EINVAL), then each descriptor. */
    private int fpCopy(MemorySegment control, Messages.ControlMessage c, List<FileDescription> files) {
        long count = (c.length() - Messages.CMSGHDR_SIZE) / Integer.BYTES;
        if (count <= 0) {
            return 0;
        }
        if (count > SocketConstants.SCM_MAX_FD || files.size() + count > SocketConstants.SCM_MAX_FD) {
            return -Errno.EINVAL.value();
        }
        for (long i = 0; i < count; i++) {
            int passed = control.get(JAVA_INT, c.offset() + Messages.CMSGHDR_SIZE + i * Integer.BYTES);
            FileDescription file = passed < 0 ? null : fds.hold(passed);
            if (file == null) {
                return -Errno.EBADF.value();
            }
            files.add(file);
        }
        return 0;
    }

    /**
     * ____sys_recvmsg then unix_stream_read_generic: EINVAL unless connected; with the queue empty the pending error
     * (once), then end of stream after the peer's close, else EAGAIN or a wait; then bytes across messages, stopping
     * after one that carried descriptors; then scm_detach_fds installs as many as the control buffer holds and
     * closes the rest with MSG_CTRUNC.
     */
    long recvmsg(int fd, MemorySegment msghdr, int flags) {
        UnixEndpoint u = unix(fd, flags, SocketConstants.MSG_DONTWAIT | SocketConstants.MSG_CMSG_CLOEXEC, "recvmsg");
        if (u == null) {
            return sockets.lookupError(fd);
        }
        if (Long.compareUnsigned(Messages.iovecCount(msghdr), Messages.UIO_MAXIOV) > 0) {
            return -Errno.EMSGSIZE.value();
        }
        boolean nonblocking = ((SimulatedSocket) fds.get(fd)).nonblocking
                || (flags & SocketConstants.MSG_DONTWAIT) != 0;
        List<MemorySegment> buffers = Messages.iovecs(msghdr);
        long size = buffers.stream().mapToLong(MemorySegment::byteSize).sum();
        List<FileDescription> files = null;
        long copied = 0;
        synchronized (u.lock) {
            if (!u.connected) {
                return -Errno.EINVAL.value();
            }
            while (u.queue.isEmpty()) {
                if (u.error != 0) {
                    int error = u.error;
                    u.error = 0;
                    return -error;
                }
                if (u.shutdown) {
                    return finish(msghdr, flags, 0, null);
                }
                if (nonblocking) {
                    return -Errno.EAGAIN.value();
                }
                try {
                    u.lock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted in a blocking simulated recvmsg", e);
                }
            }
            do {
                UnixEndpoint.Segment s = u.queue.peek();
                int chunk = (int) Math.min(s.remaining(), size - copied);
                scatter(buffers, copied, s.data, s.consumed, chunk);
                copied += chunk;
                s.consumed += chunk;
                if (s.files != null) {
                    files = s.files;
                    s.files = null;
                }
                if (s.remaining() > 0) {
                    break;
                }
                u.queue.poll();
            } while (files == null && copied < size && !u.queue.isEmpty());
        }
        return finish(msghdr, flags, copied, files);
    }

    /** scm_recv / scm_detach_fds, then the msghdr's msg_controllen and msg_flags as ____sys_recvmsg writes them. */
    private long finish(MemorySegment msghdr, int flags, long copied, List<FileDescription> files) {
        int outFlags = flags & SocketConstants.MSG_CMSG_CLOEXEC;
        long used = 0;
        MemorySegment control = Messages.control(msghdr);
        if (files != null) {
            long room = control.byteSize() <= Messages.CMSGHDR_SIZE ? 0
                    : (control.byteSize() - Messages.CMSGHDR_SIZE) / Integer.BYTES;
            int max = control.equals(MemorySegment.NULL) ? 0 : (int) Math.min(room, files.size());
            int installed = 0;
            for (; installed < max; installed++) {
                int newFd = fds.install(files.get(installed));
                if (newFd < 0) {
                    break;
                }
                control.set(JAVA_INT, Messages.CMSGHDR_SIZE + (long) installed * Integer.BYTES, newFd);
            }
            if (installed > 0) {
                Messages.header(control, Messages.cmsgLength((long) installed * Integer.BYTES));
                used = Math.min(Messages.cmsgSpace((long) installed * Integer.BYTES), control.byteSize());
            }
            if (installed < files.size()) {
                outFlags |= SocketConstants.MSG_CTRUNC;
            }
            files.forEach(fds::drop); // the message's references; the installed descriptors hold their own
        }
        Messages.setResult(msghdr, used, outFlags);
        return copied;
    }

    /** The socket's Unix end, or null when the descriptor is no socket; TCP sockets are not modelled here. */
    private UnixEndpoint unix(int fd, int flags, int modelled, String call) {
        SimulatedSocket s = sockets.socket(fd);
        if (s == null) {
            return null;
        }
        if ((flags & ~modelled) != 0) {
            throw new UnsupportedOperationException("the simulated kernel does not model " + call + " flags 0x"
                    + Integer.toHexString(flags & ~modelled));
        }
        if (s.unix == null) {
            throw new UnsupportedOperationException("the simulated kernel models " + call
                    + " on AF_UNIX stream sockets only (use send and recv on TCP)");
        }
        return s.unix;
    }

    private static byte[] gather(List<MemorySegment> buffers) {
        long total = buffers.stream().mapToLong(MemorySegment::byteSize).sum();
        if (total > Integer.MAX_VALUE - 8) {
            // the kernel clamps the iovecs to MAX_RW_COUNT (lib/iov_iter.c __import_iovec) and unix_stream_sendmsg
            // sends what sk_sndbuf admits: the model holds a message whole and models no send buffer
            throw new UnsupportedOperationException("the simulated kernel sends at most 2 GiB in one AF_UNIX sendmsg"
                    + " and does not model the send buffer that limits the kernel's");
        }
        byte[] data = new byte[(int) total];
        int at = 0;
        for (MemorySegment b : buffers) {
            MemorySegment.copy(b, 0, MemorySegment.ofArray(data), at, b.byteSize());
            at += (int) b.byteSize();
        }
        return data;
    }

    /** Copies {@code length} bytes of {@code data} from {@code from} into the iovecs at {@code offset}. */
    private static void scatter(List<MemorySegment> buffers, long offset, byte[] data, int from, int length) {
        long skip = offset;
        int done = 0;
        for (MemorySegment b : buffers) {
            if (skip >= b.byteSize()) {
                skip -= b.byteSize();
                continue;
            }
            int n = (int) Math.min(b.byteSize() - skip, length - done);
            MemorySegment.copy(MemorySegment.ofArray(data), from + done, b, skip, n);
            done += n;
            skip = 0;
            if (done == length) {
                return;
            }
        }
    }
}
