package dev.kdirect.backend.simulated;

import static dev.kdirect.SocketConstants.SOL_SOCKET;
import static dev.kdirect.SocketConstants.SOL_TCP;
import static dev.kdirect.SocketConstants.TCP_CLOSE;
import static dev.kdirect.SocketConstants.TCP_ESTABLISHED;
import static dev.kdirect.SocketConstants.TCP_LISTEN;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import dev.kdirect.Capability;
import dev.kdirect.Credentials;
import dev.kdirect.Errno;
import dev.kdirect.KernelRelease;
import dev.kdirect.SocketConstants;
import dev.kdirect.TcpStructs;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

/**
 * setsockopt(2) and getsockopt(2) on simulated TCP sockets: sk_setsockopt / sk_getsockopt (net/core/sock.c) for
 * SO_REUSEADDR, SO_SNDBUF, SO_RCVBUF, SO_KEEPALIVE, and do_tcp_setsockopt / do_tcp_getsockopt (net/ipv4/tcp.c)
 * for TCP_NODELAY, TCP_MAXSEG, TCP_INFO and the repair options, with the kernel's checks in its order. Options
 * not listed here are not modelled and fail loudly.
 */
final class SocketOptionCalls {
    /** TCP_MIN_MSS and MAX_TCP_WINDOW: the range TCP_MAXSEG accepts (0 clears it). */
    private static final int TCP_MIN_MSS = 88;
    private static final int MAX_TCP_WINDOW = 32767;
    private static final int TCP_MAX_WSCALE = 14;
    private static final int TCP_QUEUES_NR = 3;
    /** sizeof(struct tcp_info) as the model fills it; the kernel copies min(asked, its size). */
    private static final long REPAIR_OPT_SIZE = TcpStructs.REPAIR_OPT.byteSize();

    private final Credentials credentials;
    private final SimulatedSockets sockets;

    SocketOptionCalls(Credentials credentials, SimulatedSockets sockets) {
        this.credentials = credentials;
        this.sockets = sockets;
    }

    /** __sys_setsockopt: the descriptor, then the level's handler. */
    int setsockopt(int fd, int level, int option, MemorySegment value) {
        SimulatedSocket s = sockets.socket(fd);
        if (s == null) {
            return sockets.lookupError(fd);
        }
        if (level == SOL_TCP && s.tcp == null) {
            return -Errno.EOPNOTSUPP.value(); // AF_UNIX has no TCP level
        }
        TcpEndpoint tcp = SimulatedSockets.inet(s);
        if (level != SOL_SOCKET && level != SOL_TCP) {
            throw notModelled(level, option);
        }
        if (value.byteSize() < Integer.BYTES) {
            return -Errno.EINVAL.value(); // both sk_setsockopt and do_tcp_setsockopt read an int first
        }
        int val = value.get(JAVA_INT, 0);
        synchronized (sockets.network()) {
            return level == SOL_SOCKET ? setSocketOption(tcp, option, val) : setTcpOption(tcp, option, val, value);
        }
    }

    /** sk_setsockopt; the FORCE variants of the buffer sizes need CAP_NET_ADMIN. */
    private int setSocketOption(TcpEndpoint tcp, int option, int val) {
        if (option == SocketConstants.SO_SNDBUFFORCE || option == SocketConstants.SO_RCVBUFFORCE) {
            if (!credentials.capable(Capability.NET_ADMIN)) {
                return -Errno.EPERM.value();
            }
            if (option == SocketConstants.SO_SNDBUFFORCE) {
                tcp.settings.forceSendBuffer(val);
            } else {
                tcp.settings.forceReceiveBuffer(val);
            }
            return 0;
        }
        switch (option) {
            case SocketConstants.SO_REUSEADDR -> tcp.settings.reuse = val != 0 ? SocketSettings.SK_CAN_REUSE
                    : SocketSettings.SK_NO_REUSE;
            case SocketConstants.SO_KEEPALIVE -> tcp.settings.keepAlive = val != 0;
            case SocketConstants.SO_SNDBUF -> tcp.settings.setSendBuffer(val);
            case SocketConstants.SO_RCVBUF -> tcp.settings.setReceiveBuffer(val);
            default -> throw notModelled(SOL_SOCKET, option);
        }
        return 0;
    }

    /** do_tcp_setsockopt, case by case. */
    private int setTcpOption(TcpEndpoint tcp, int option, int val, MemorySegment value) {
        switch (option) {
            case SocketConstants.TCP_NODELAY -> tcp.settings.noDelay = val != 0;
            case SocketConstants.TCP_MAXSEG -> {
                if (val != 0 && (val < TCP_MIN_MSS || val > MAX_TCP_WINDOW)) {
                    return -Errno.EINVAL.value();
                }
                tcp.settings.userMss = val;
            }
            case SocketConstants.TCP_REPAIR -> {
                return setRepair(tcp, val);
            }
            case SocketConstants.TCP_REPAIR_QUEUE -> {
                if (!tcp.repair) {
                    return -Errno.EPERM.value();
                }
                if (Integer.compareUnsigned(val, TCP_QUEUES_NR) >= 0) {
                    return -Errno.EINVAL.value();
                }
                tcp.repairQueue = val;
            }
            case SocketConstants.TCP_QUEUE_SEQ -> {
                return setQueueSequence(tcp, val);
            }
            case SocketConstants.TCP_REPAIR_OPTIONS -> {
                if (!tcp.repair) {
                    return -Errno.EINVAL.value();
                }
                if (tcp.state != TCP_ESTABLISHED || tcp.bytesSent != 0) {
                    return -Errno.EPERM.value(); // options only before the connection sent anything
                }
                return repairOptions(tcp, value);
            }
            case SocketConstants.TCP_TIMESTAMP -> {
                if (!tcp.repair) {
                    return -Errno.EPERM.value();
                }
                // since 6.7 the low bit selects microsecond timestamps (do_tcp_setsockopt, "tcp: add support for
                // usec resolution in TCP TS values"); 6.1 takes the value as an opaque millisecond clock
                tcp.usecTimestamps = KernelRelease.running().atLeast(6, 7) && (val & 1) != 0;
                tcp.timestampOffset = val - sockets.network().clock(tcp.usecTimestamps);
            }
            case SocketConstants.TCP_REPAIR_WINDOW -> {
                return setWindow(tcp, value);
            }
            default -> throw notModelled(SOL_TCP, option);
        }
        return 0;
    }

    /** TCP_REPAIR: tcp_can_repair_sock (CAP_NET_ADMIN, not LISTEN) for every value, then the value. */
    private int setRepair(TcpEndpoint tcp, int val) {
        if (!credentials.capable(Capability.NET_ADMIN) || tcp.state == TCP_LISTEN) {
            return -Errno.EPERM.value();
        }
        switch (val) {
            case SocketConstants.TCP_REPAIR_ON -> tcp.enterRepair();
            case SocketConstants.TCP_REPAIR_OFF -> tcp.leaveRepair(true);
            case SocketConstants.TCP_REPAIR_OFF_NO_WP -> tcp.leaveRepair(false);
            default -> {
                return -Errno.EINVAL.value();
            }
        }
        return 0;
    }

    /**
     * TCP_QUEUE_SEQ: only in state CLOSE (before connect), on the selected queue; not checked against repair
     * mode, but outside it no queue can be selected, so it fails with EINVAL.
     */
    private static int setQueueSequence(TcpEndpoint tcp, int val) {
        if (tcp.state != TCP_CLOSE) {
            return -Errno.EPERM.value();
        }
        if (tcp.repairQueue == SocketConstants.TCP_SEND_QUEUE) {
            if (!tcp.retransmitQueueEmpty()) {
                return -Errno.EPERM.value();
            }
            tcp.writeSeq = val;
        } else if (tcp.repairQueue == SocketConstants.TCP_RECV_QUEUE) {
            if (tcp.finReadUnknown) {
                throw new UnsupportedOperationException("TCP_QUEUE_SEQ of the receive queue after a read that took"
                        + " every byte before the peer's FIN: whether it took the FIN too (copied_seq) depends on"
                        + " whether the FIN came in the last data segment, which the simulated kernel does not keep");
            }
            if (tcp.rcvNxt != tcp.copiedSeq) {
                return -Errno.EPERM.value();
            }
            tcp.rcvNxt = tcp.copiedSeq = val;
        } else {
            return -Errno.EINVAL.value();
        }
        return 0;
    }

    /**
     * tcp_repair_options_est: whole struct tcp_repair_opt entries, the rest of the buffer ignored, unknown codes
     * ignored; a window scale above 14 is EFBIG, a SACK or timestamp value other than 0 EINVAL.
     */
    private static int repairOptions(TcpEndpoint tcp, MemorySegment value) {
        for (long offset = 0; offset + REPAIR_OPT_SIZE <= value.byteSize(); offset += REPAIR_OPT_SIZE) {
            MemorySegment option = value.asSlice(offset, REPAIR_OPT_SIZE);
            int code = (int) TcpStructs.OPT_CODE.get(option);
            int val = (int) TcpStructs.OPT_VAL.get(option);
            switch (code) {
                case SocketConstants.TCPOPT_MAXSEG -> {
                    int clamp = val & 0xffff; // rx_opt.mss_clamp is a u16: the value is cut to its low bits
                    tcp.mssClamp = clamp;
                    // mss_cache stays until the next tcp_sync_mss bounds it by the clamp (not placed by the model)
                    tcp.mssExact &= clamp >= tcp.mssCache;
                }
                case SocketConstants.TCPOPT_WINDOW -> {
                    int send = val & 0xffff;
                    int receive = val >>> 16;
                    if (send > TCP_MAX_WSCALE || receive > TCP_MAX_WSCALE) {
                        return -Errno.EFBIG.value();
                    }
                    tcp.sendWindowScale = send;
                    tcp.receiveWindowScale = receive;
                    tcp.windowScaling = true;
                }
                case SocketConstants.TCPOPT_SACK_PERM -> {
                    if (val != 0) {
                        return -Errno.EINVAL.value();
                    }
                    tcp.sack = true;
                }
                case SocketConstants.TCPOPT_TIMESTAMP -> {
                    if (val != 0) {
                        return -Errno.EINVAL.value();
                    }
                    tcp.timestamps = true;
                }
                default -> {
                }
            }
        }
        return 0;
    }

    /** tcp_repair_set_window: repair mode, exactly 20 bytes, then the checks of {@link TcpEndpoint#setWindow}. */
    private static int setWindow(TcpEndpoint tcp, MemorySegment value) {
        if (!tcp.repair) {
            return -Errno.EPERM.value();
        }
        if (value.byteSize() != SocketConstants.TCP_REPAIR_WINDOW_SIZE) {
            return -Errno.EINVAL.value();
        }
        return tcp.setWindow((int) TcpStructs.WINDOW_SND_WL1.get(value), (int) TcpStructs.WINDOW_SND_WND.get(value),
                (int) TcpStructs.WINDOW_MAX_WINDOW.get(value), (int) TcpStructs.WINDOW_RCV_WND.get(value),
                (int) TcpStructs.WINDOW_RCV_WUP.get(value));
    }

    /** __sys_getsockopt: the descriptor, then the level; returns the length written. */
    int getsockopt(int fd, int level, int option, MemorySegment buffer) {
        SimulatedSocket s = sockets.socket(fd);
        if (s == null) {
            return sockets.lookupError(fd);
        }
        if (level == SOL_TCP && s.tcp == null) {
            return -Errno.EOPNOTSUPP.value();
        }
        if (level == SOL_SOCKET && option == SocketConstants.SO_TYPE) {
            return putInt(buffer, s.type); // sk->sk_type
        }
        if (level == SOL_SOCKET && option == SocketConstants.SO_PROTOCOL) {
            return putInt(buffer, s.tcp != null ? SocketConstants.IPPROTO_TCP : 0); // sk->sk_protocol
        }
        TcpEndpoint tcp = SimulatedSockets.inet(s);
        synchronized (sockets.network()) {
            if (level == SOL_TCP && option == SocketConstants.TCP_INFO) {
                return tcpInfo(tcp, buffer);
            }
            if (level == SOL_TCP && option == SocketConstants.TCP_REPAIR_WINDOW) {
                return repairWindow(tcp, buffer);
            }
            if (level == SOL_SOCKET) {
                return putInt(buffer, socketOption(tcp, option));
            }
            if (level != SOL_TCP) {
                throw notModelled(level, option);
            }
            if (option == SocketConstants.TCP_REPAIR_QUEUE && !tcp.repair
                    || option == SocketConstants.TCP_QUEUE_SEQ && tcp.repairQueue == SocketConstants.TCP_NO_QUEUE) {
                return -Errno.EINVAL.value(); // no queue to report
            }
            return putInt(buffer, tcpOption(tcp, option));
        }
    }

    private static int socketOption(TcpEndpoint tcp, int option) {
        return switch (option) {
            case SocketConstants.SO_REUSEADDR -> tcp.settings.reuse;
            case SocketConstants.SO_KEEPALIVE -> tcp.settings.keepAlive ? 1 : 0;
            case SocketConstants.SO_SNDBUF -> tcp.settings.sendBuffer;
            case SocketConstants.SO_RCVBUF -> tcp.settings.receiveBuffer;
            default -> throw notModelled(SOL_SOCKET, option);
        };
    }

    /** do_tcp_getsockopt's int options (TCP_MAXSEG reports the MSS clamp in repair mode). */
    private int tcpOption(TcpEndpoint tcp, int option) {
        return switch (option) {
            case SocketConstants.TCP_NODELAY -> tcp.settings.noDelay ? 1 : 0;
            case SocketConstants.TCP_MAXSEG -> tcp.repair ? tcp.mssClamp
                    : tcp.settings.userMss != 0 && (tcp.state == TCP_CLOSE || tcp.state == TCP_LISTEN)
                            ? tcp.settings.userMss : exactMss(tcp);
            case SocketConstants.TCP_REPAIR -> tcp.repair ? 1 : 0;
            case SocketConstants.TCP_REPAIR_QUEUE -> tcp.repairQueue;
            case SocketConstants.TCP_QUEUE_SEQ -> tcp.repairQueue == SocketConstants.TCP_SEND_QUEUE ? tcp.writeSeq
                    : tcp.rcvNxt;
            case SocketConstants.TCP_TIMESTAMP -> timestamp(tcp);
            default -> throw notModelled(SOL_TCP, option);
        };
    }

    /**
     * TCP_TIMESTAMP (do_tcp_getsockopt): the clock plus the socket's offset; since 6.7 the low bit then reports
     * tcp_usec_ts (set for microseconds, cleared for milliseconds), before it the sum is returned as it is.
     */
    private int timestamp(TcpEndpoint tcp) {
        int val = tcp.tsval();
        if (!KernelRelease.running().atLeast(6, 7)) {
            return val;
        }
        return tcp.usecTimestamps ? val | 1 : val & ~1;
    }

    /** TCP_MAXSEG outside repair mode: mss_cache, where the model knows it ({@link TcpEndpoint#mssExact}). */
    private static int exactMss(TcpEndpoint tcp) {
        if (!tcp.mssExact) {
            throw new UnsupportedOperationException("TCP_MAXSEG of a connection outside repair mode is mss_cache, which"
                    + " tcp_sync_mss bounds to half the largest window the peer advertised (tcp_bound_to_half_wnd);"
                    + " the simulated kernel does not follow the kernel's window arithmetic after the handshake");
        }
        return tcp.mssCache;
    }

    /** TCP_INFO: tcpi_state, tcpi_options and the window scales; the rest is zero. */
    private static int tcpInfo(TcpEndpoint tcp, MemorySegment buffer) {
        MemorySegment info = MemorySegment.ofArray(new byte[TcpStructs.INFO_SIZE]);
        TcpStructs.INFO_STATE.set(info, (byte) tcp.state);
        // tcp_get_info returns after tcpi_state for a listener; in every other state it fills the options: a
        // socket never connected has none, unless TCP_TIMESTAMP set microsecond timestamps (6.7 and later)
        if (tcp.state != TCP_LISTEN) {
            TcpStructs.INFO_OPTIONS.set(info, (byte) tcp.infoOptions());
            if (tcp.windowScaling) {
                TcpStructs.INFO_WSCALES.set(info, (byte) (tcp.sendWindowScale | tcp.receiveWindowScale << 4));
            }
        }
        int length = (int) Math.min(buffer.byteSize(), TcpStructs.INFO_SIZE);
        MemorySegment.copy(info, 0, buffer, 0, length);
        return length;
    }

    /** TCP_REPAIR_WINDOW: the length is checked before repair mode. */
    private static int repairWindow(TcpEndpoint tcp, MemorySegment buffer) {
        if (buffer.byteSize() != SocketConstants.TCP_REPAIR_WINDOW_SIZE) {
            return -Errno.EINVAL.value();
        }
        if (!tcp.repair) {
            return -Errno.EPERM.value();
        }
        int[] w = tcp.window(); // snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup
        TcpStructs.repairWindow(SegmentAllocator.prefixAllocator(buffer), w[0], w[1], w[2], w[3], w[4]);
        return SocketConstants.TCP_REPAIR_WINDOW_SIZE;
    }

    /** The generic int option copy: min(asked, 4) bytes. */
    private static int putInt(MemorySegment buffer, int val) {
        int length = (int) Math.min(buffer.byteSize(), Integer.BYTES);
        MemorySegment.copy(MemorySegment.ofArray(new int[] {val}), 0, buffer, 0, length);
        return length;
    }

    private static UnsupportedOperationException notModelled(int level, int option) {
        return new UnsupportedOperationException("the simulated kernel does not model socket option " + level + "/"
                + option);
    }
}
