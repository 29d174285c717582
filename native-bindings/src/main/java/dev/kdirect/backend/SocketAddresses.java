package dev.kdirect.backend;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import dev.kdirect.SocketConstants;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;

/**
 * The one encoding of {@code struct sockaddr_in} (16 bytes) and {@code struct sockaddr_in6} (28 bytes) on x86-64
 * (include/uapi/linux/in.h, in6.h): the family in host byte order, the port and the address in network byte
 * order, the rest zero. Every binding passes addresses through here; the simulated kernel reads the caller's bytes
 * with it as the kernel's inet_bind and inet_stream_connect do.
 */
public final class SocketAddresses {
    /** sizeof(struct sockaddr_in). */
    public static final int IN_SIZE = 16;
    /** sizeof(struct sockaddr_in6). */
    public static final int IN6_SIZE = 28;
    /** SIN6_LEN_RFC2133: the shortest sockaddr_in6 the kernel accepts (without sin6_scope_id). */
    public static final int IN6_MIN_SIZE = 24;
    /** sizeof(struct sockaddr_un): the family, then sun_path[108]. */
    public static final int UN_SIZE = 110;
    /** The longest path sun_path holds with its terminating NUL. */
    public static final int UN_PATH_MAX = 107;
    /** Room for any of them. */
    public static final int MAX_SIZE = UN_SIZE;

    private static final int PORT_OFFSET = 2;
    private static final int IN_ADDRESS_OFFSET = 4;
    private static final int IN6_ADDRESS_OFFSET = 8;

    private SocketAddresses() {
    }

    /** sockaddr_in for an IPv4 address, sockaddr_in6 for an IPv6 one. */
    public static MemorySegment encode(InetSocketAddress address, SegmentAllocator allocator) {
        if (address.isUnresolved()) {
            throw new IllegalArgumentException("the kernel needs an IP address, not the unresolved name " + address);
        }
        byte[] raw = address.getAddress().getAddress();
        boolean v4 = raw.length == 4;
        MemorySegment s = allocator.allocate(v4 ? IN_SIZE : IN6_SIZE);
        s.fill((byte) 0);
        s.set(JAVA_SHORT_UNALIGNED, 0, (short) (v4 ? SocketConstants.AF_INET : SocketConstants.AF_INET6));
        s.set(JAVA_SHORT_UNALIGNED, PORT_OFFSET, Short.reverseBytes((short) address.getPort()));
        MemorySegment.copy(raw, 0, s, JAVA_BYTE, v4 ? IN_ADDRESS_OFFSET : IN6_ADDRESS_OFFSET, raw.length);
        if (!v4 && address.getAddress() instanceof java.net.Inet6Address a6) {
            s.set(JAVA_INT_UNALIGNED, 24, a6.getScopeId());
        }
        return s;
    }

    /**
     * sockaddr_un for a Unix domain socket path: the family, the path's bytes and their NUL, and the length to pass
     * (offsetof(sun_path) + the path + 1, as the kernel's unix_mkname expects).
     *
     * @throws IllegalArgumentException for an empty path or one longer than {@value #UN_PATH_MAX} bytes
     */
    public static MemorySegment encode(java.net.UnixDomainSocketAddress address, SegmentAllocator allocator) {
        byte[] path = address.getPath().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        if (path.length == 0 || path.length > UN_PATH_MAX) {
            throw new IllegalArgumentException("a Unix domain socket path has 1 to " + UN_PATH_MAX + " bytes (sun_path"
                    + " holds 108 with the NUL); " + address.getPath() + " has " + path.length);
        }
        MemorySegment s = allocator.allocate(PORT_OFFSET + path.length + 1L);
        s.fill((byte) 0);
        s.set(JAVA_SHORT_UNALIGNED, 0, (short) SocketConstants.AF_UNIX);
        MemorySegment.copy(path, 0, s, JAVA_BYTE, PORT_OFFSET, path.length);
        return s;
    }

    /** The family field (sa_family). */
    public static int family(MemorySegment s) {
        return Short.toUnsignedInt(s.get(JAVA_SHORT_UNALIGNED, 0));
    }

    /** The port (sin_port / sin6_port), in host order. */
    public static int port(MemorySegment s) {
        return Short.toUnsignedInt(Short.reverseBytes(s.get(JAVA_SHORT_UNALIGNED, PORT_OFFSET)));
    }

    /** The 4 or 16 address bytes of a sockaddr_in or sockaddr_in6, by its family. */
    public static byte[] addressBytes(MemorySegment s) {
        return family(s) == SocketConstants.AF_INET
                ? s.asSlice(IN_ADDRESS_OFFSET, 4).toArray(JAVA_BYTE)
                : s.asSlice(IN6_ADDRESS_OFFSET, 16).toArray(JAVA_BYTE);
    }

    /**
     * The address in {@code length} bytes of a sockaddr filled by the kernel. An IPv4-mapped IPv6 address
     * (::ffff:a.b.c.d, what a dual-stack socket reports) comes back as the IPv4 address, as the JDK reports it.
     *
     * @throws IllegalArgumentException for another family, or a length too short for the family
     */
    public static InetSocketAddress decode(MemorySegment s, int length) {
        int family = family(s);
        int needed = family == SocketConstants.AF_INET ? IN_SIZE : IN6_MIN_SIZE;
        if (family != SocketConstants.AF_INET && family != SocketConstants.AF_INET6 || length < needed) {
            throw new IllegalArgumentException("not a sockaddr_in or sockaddr_in6: family " + family + ", "
                    + length + " bytes");
        }
        return new InetSocketAddress(inetAddress(addressBytes(s)), port(s));
    }

    /** Writes {@code address} (4 or 16 bytes) and {@code port} as the sockaddr of {@code family} into {@code s}. */
    public static int write(MemorySegment s, int family, byte[] address, int port) {
        int size = family == SocketConstants.AF_INET ? IN_SIZE : IN6_SIZE;
        MemorySegment out = s.asSlice(0, Math.min(size, s.byteSize()));
        MemorySegment full = MemorySegment.ofArray(new byte[size]);
        full.set(JAVA_SHORT_UNALIGNED, 0, (short) family);
        full.set(JAVA_SHORT_UNALIGNED, PORT_OFFSET, Short.reverseBytes((short) port));
        MemorySegment.copy(address, 0, full, JAVA_BYTE, family == SocketConstants.AF_INET ? IN_ADDRESS_OFFSET
                : IN6_ADDRESS_OFFSET, address.length);
        out.copyFrom(full.asSlice(0, out.byteSize())); // the kernel copies min(buffer, size) and reports the size
        return size;
    }

    private static InetAddress inetAddress(byte[] raw) {
        try {
            return InetAddress.getByAddress(raw);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("an IP address has 4 or 16 bytes, not " + raw.length, e);
        }
    }
}
