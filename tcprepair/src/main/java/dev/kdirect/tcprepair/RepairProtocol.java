package dev.kdirect.tcprepair;

import dev.kdirect.SocketConstants;

/**
 * The repair helper's wire protocol over a connected AF_UNIX stream socket, passt-repair's (passt.top, passt-repair.c)
 * for the repair toggles plus a kdirect extension:
 *
 * <ul>
 *   <li>A request is one signed byte, the command, sent with 1 to {@link SocketConstants#SCM_MAX_FD} (253) TCP
 *       sockets as one SCM_RIGHTS control message. Commands 1, 0 and -1 set TCP_REPAIR to TCP_REPAIR_ON,
 *       TCP_REPAIR_OFF or TCP_REPAIR_OFF_NO_WP on every socket.</li>
 *   <li>The kdirect extension: commands {@value #SET_SEND_BUFFER} (SO_SNDBUFFORCE) and {@value #SET_RECEIVE_BUFFER}
 *       (SO_RCVBUFFORCE) are followed by the value, a 32-bit int in the host's byte order, in the same message.
 *       passt-repair does not know them and closes the connection, which the client reports as a refusal.</li>
 *   <li>The kdirect extension for the network lock ({@link NetworkLock}), so that the service needs no CAP_NET_ADMIN
 *       for it either: command {@value #LOCK} carries 1 to 253 connected TCP sockets and an int, 0 for a new lock or
 *       the id of one of this client's locks to extend; the helper derives each connection's addresses from the
 *       socket itself (getsockname, getpeername), so a client locks only connections it holds, and replies with the
 *       command byte and the lock's id (an int, host byte order). Command {@value #UNLOCK} carries no socket and the
 *       id of one of this client's locks, and removes it; the reply is the command byte. A client holds at most
 *       {@value #MAX_LOCKS_PER_CLIENT} locks; when its connection to the helper closes, the helper removes them
 *       (so a service that dies never leaves packets dropped).</li>
 *   <li>The reply, once every socket is set, is the command byte alone. Closing the connection instead means
 *       failure: the helper refused the client or the request, or a socket option failed.</li>
 * </ul>
 */
final class RepairProtocol {
    /** kdirect extension: SO_SNDBUFFORCE to the int that follows. */
    static final byte SET_SEND_BUFFER = 16;
    /** kdirect extension: SO_RCVBUFFORCE to the int that follows. */
    static final byte SET_RECEIVE_BUFFER = 17;
    /** kdirect extension: lock the connections of the sockets carried (new lock for 0, else extend that lock). */
    static final byte LOCK = 18;
    /** kdirect extension: remove the client's lock whose id follows; no socket is carried. */
    static final byte UNLOCK = 19;
    /** The locks one client connection may hold at once. */
    static final int MAX_LOCKS_PER_CLIENT = 4;
    /** The extension's value after the command byte. */
    static final int VALUE_BYTES = Integer.BYTES;

    private RepairProtocol() {
    }

    /** True for TCP_REPAIR_ON, TCP_REPAIR_OFF and TCP_REPAIR_OFF_NO_WP: passt-repair's commands. */
    static boolean isRepairToggle(int command) {
        return command == SocketConstants.TCP_REPAIR_ON || command == SocketConstants.TCP_REPAIR_OFF
                || command == SocketConstants.TCP_REPAIR_OFF_NO_WP;
    }

    /** True for the commands the helper serves: the toggles and the extension's. */
    static boolean isKnown(int command) {
        return isRepairToggle(command) || command == SET_SEND_BUFFER || command == SET_RECEIVE_BUFFER
                || command == LOCK || command == UNLOCK;
    }

    /** False only for UNLOCK, which names a lock instead of carrying sockets. */
    static boolean carriesSockets(int command) {
        return command != UNLOCK;
    }

    /** The extension command for a forced buffer option, or 0 for any other option. */
    static byte bufferCommand(int option) {
        return option == SocketConstants.SO_SNDBUFFORCE ? SET_SEND_BUFFER
                : option == SocketConstants.SO_RCVBUFFORCE ? SET_RECEIVE_BUFFER : 0;
    }

    /** The option an extension command sets. */
    static int bufferOption(int command) {
        return command == SET_SEND_BUFFER ? SocketConstants.SO_SNDBUFFORCE : SocketConstants.SO_RCVBUFFORCE;
    }

    static String describe(int command) {
        return switch (command) {
            case SocketConstants.TCP_REPAIR_ON -> "TCP_REPAIR on";
            case SocketConstants.TCP_REPAIR_OFF -> "TCP_REPAIR off";
            case SocketConstants.TCP_REPAIR_OFF_NO_WP -> "TCP_REPAIR off (no window probe)";
            case SET_SEND_BUFFER -> "SO_SNDBUFFORCE";
            case SET_RECEIVE_BUFFER -> "SO_RCVBUFFORCE";
            case LOCK -> "lock";
            case UNLOCK -> "unlock";
            default -> "unknown command " + command;
        };
    }
}
