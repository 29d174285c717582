package dev.kdirect.netty;

import io.netty.buffer.ByteBuf;

/**
 * A handler that holds inbound bytes of the TCP stream read from the kernel but not yet consumed (say, one that
 * queues reads while its application is busy). kdirect carries what {@link #takeUnconsumed} returns to the successor
 * and fires it there first, before any byte read from the socket.
 *
 * <p>kdirect already carries the cumulation of every {@code ByteToMessageDecoder} in the pipeline (the partial
 * frame a decoder waits to complete); a handler needs this interface only for bytes it holds itself. The bytes must
 * be raw bytes of the TCP stream, as the socket delivered them, and they are taken in pipeline order from the tail
 * to the head: a handler nearer the tail holds earlier bytes than one nearer the head.
 */
public interface InboundHolder {
    /**
     * Hands over the unconsumed bytes (null or empty: none). Called on the channel's event loop, reads stopped, once
     * per handoff; the handler must not deliver these bytes itself afterwards. kdirect releases the buffer.
     */
    ByteBuf takeUnconsumed();
}
