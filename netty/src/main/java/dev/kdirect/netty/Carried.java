package dev.kdirect.netty;

import java.nio.ByteBuffer;

/**
 * What travels with one Netty connection as its migration attachment: the application's state ({@link
 * ChannelStateCodec}), the inbound bytes the handlers had not consumed, and the outbound bytes Netty had not yet
 * written to the socket. Layout, big-endian: magic "KDNY" (u32), u8 version 1, then three (u32 length, bytes).
 * Decoding checks every length against what is left before it allocates, and that nothing follows.
 */
record Carried(byte[] state, byte[] inbound, byte[] outbound) {
    private static final int MAGIC = 0x4B444E59; // "KDNY"
    private static final byte VERSION = 1;

    byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(5 + 12 + state.length + inbound.length + outbound.length);
        b.putInt(MAGIC).put(VERSION);
        for (byte[] part : new byte[][] {state, inbound, outbound}) {
            b.putInt(part.length).put(part);
        }
        return b.array();
    }

    /** @throws IllegalArgumentException naming what is wrong (not a kdirect-netty attachment, truncated, ...) */
    static Carried decode(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        if (b.remaining() < 5 || b.getInt() != MAGIC) {
            throw new IllegalArgumentException("the attachment is not a kdirect-netty one (no magic KDNY): was the"
                    + " connection sent by NettyHandoff.handOff?");
        }
        byte version = b.get();
        if (version != VERSION) {
            throw new IllegalArgumentException("kdirect-netty attachment version " + version + ", this side reads "
                    + VERSION + ": run the same kdirect-netty version on both sides");
        }
        byte[][] parts = new byte[3][];
        String[] names = {"state", "inbound bytes", "outbound bytes"};
        for (int i = 0; i < 3; i++) {
            if (b.remaining() < 4) {
                throw new IllegalArgumentException("the kdirect-netty attachment is truncated before its " + names[i]);
            }
            int length = b.getInt();
            if (length < 0 || length > b.remaining()) {
                throw new IllegalArgumentException("the kdirect-netty attachment's " + names[i] + " length " + length
                        + " exceeds the " + b.remaining() + " bytes left");
            }
            parts[i] = new byte[length];
            b.get(parts[i]);
        }
        if (b.hasRemaining()) {
            throw new IllegalArgumentException("the kdirect-netty attachment has " + b.remaining()
                    + " bytes after its last field");
        }
        return new Carried(parts[0], parts[1], parts[2]);
    }
}
