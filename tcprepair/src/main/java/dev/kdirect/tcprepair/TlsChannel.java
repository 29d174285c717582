package dev.kdirect.tcprepair;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/**
 * A {@link ControlChannel} over TCP in TLS 1.3 records, both sides authenticated: the target presents its
 * certificate, which the source checks against its truststore and against the name it expects (endpoint
 * identification, as HTTPS does: a DNS or IP subject alternative name); the source must present one the target's
 * truststore accepts. The handshake runs in the factories, on the session's deadline, before any frame is read or
 * sent: a certificate that is not trusted, has expired, names another host or is missing ends it there, with the
 * JDK's reason in the message, and the other side is sent the TLS alert.
 *
 * <p>The engine is driven over the non-blocking socket with three buffers of the session's record and plaintext
 * sizes, whatever the other side sends: records received, records to write, plaintext not yet read.
 */
final class TlsChannel extends ControlChannel {
    static final String PROTOCOL = "TLSv1.3";
    private static final ByteBuffer NOTHING = ByteBuffer.allocate(0);

    private final SSLEngine engine;
    private final String peer;
    /** Records received, not yet unwrapped (write mode). */
    private final ByteBuffer netIn;
    /** Records wrapped, not yet written (read mode). */
    private final ByteBuffer netOut;
    /** Plaintext unwrapped, not yet read (read mode). */
    private final ByteBuffer appIn;

    private TlsChannel(SocketChannel socket, SSLEngine engine, String peer, long deadline, long timeoutMillis)
            throws IOException {
        super(socket, deadline, timeoutMillis);
        this.engine = engine;
        this.peer = peer;
        int records = engine.getSession().getPacketBufferSize();
        netIn = ByteBuffer.allocate(records);
        netOut = ByteBuffer.allocate(records).flip();
        appIn = ByteBuffer.allocate(engine.getSession().getApplicationBufferSize()).flip();
    }

    /**
     * The source's end on a connected socket, once the target at it has proved to be {@code name} (the host name or
     * IP address its certificate must carry) and has accepted this side's certificate. The socket is closed when
     * anything fails.
     */
    static TlsChannel client(SocketChannel socket, SSLContext context, String name, long deadline,
            long timeoutMillis) throws IOException {
        try {
            SSLEngine engine = context.createSSLEngine(name, socket.socket().getPort());
            engine.setUseClientMode(true);
            SSLParameters parameters = tls13(engine);
            parameters.setEndpointIdentificationAlgorithm("HTTPS");
            engine.setSSLParameters(parameters);
            return handshaken(new TlsChannel(socket, engine, "the target " + name + " at "
                    + socket.getRemoteAddress(), deadline, timeoutMillis));
        } catch (Throwable t) {
            socket.close();
            throw t;
        }
    }

    /**
     * The target's end on an accepted socket, once the source has presented a certificate it trusts. The socket is
     * closed when anything fails.
     */
    static TlsChannel server(SocketChannel socket, SSLContext context, long deadline, long timeoutMillis)
            throws IOException {
        try {
            SSLEngine engine = context.createSSLEngine();
            engine.setUseClientMode(false);
            SSLParameters parameters = tls13(engine);
            parameters.setNeedClientAuth(true);
            engine.setSSLParameters(parameters);
            return handshaken(new TlsChannel(socket, engine, "the source at " + socket.getRemoteAddress(), deadline,
                    timeoutMillis));
        } catch (Throwable t) {
            socket.close();
            throw t;
        }
    }

    /** This engine's parameters, TLS 1.3 only. */
    private static SSLParameters tls13(SSLEngine engine) {
        SSLParameters parameters = engine.getSSLParameters();
        parameters.setProtocols(new String[] {PROTOCOL});
        return parameters;
    }

    /** {@code channel} after its handshake; closed when the handshake fails. */
    private static TlsChannel handshaken(TlsChannel channel) throws IOException {
        try {
            channel.handshake();
            return channel;
        } catch (Throwable t) {
            channel.close();
            throw t;
        }
    }

    private void handshake() throws IOException {
        try {
            engine.beginHandshake();
            while (true) {
                switch (engine.getHandshakeStatus()) {
                    case NEED_TASK -> runTasks();
                    case NEED_WRAP -> {
                        wrap(NOTHING);
                        flush(); // the other side answers what it receives: nothing may wait here
                    }
                    case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                        if (unwrap().getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW) {
                            int read = readRecords();
                            if (read < 0) {
                                throw new MigrationException(peer + " closed the connection in the TLS handshake"
                                        + " (it refused this side's certificate, or does not speak TLS)");
                            }
                            if (read == 0) {
                                await(SelectionKey.OP_READ, "in the TLS handshake");
                            }
                        }
                    }
                    case FINISHED, NOT_HANDSHAKING -> {
                        if (engine.isInboundDone() || engine.isOutboundDone()) {
                            throw new MigrationException(peer + " closed the TLS session in its handshake");
                        }
                        return;
                    }
                }
            }
        } catch (SSLException e) {
            sendAlert();
            throw failure("the TLS handshake with " + peer + " failed", e);
        }
    }

    @Override
    int readNow(ByteBuffer into) throws IOException {
        try {
            while (!appIn.hasRemaining()) {
                if (engine.isInboundDone()) {
                    return -1;
                }
                SSLEngineResult result = unwrap();
                answerPostHandshake();
                switch (result.getStatus()) {
                    case CLOSED -> {
                        return -1; // close_notify
                    }
                    case BUFFER_UNDERFLOW -> {
                        int read = readRecords();
                        if (read <= 0) {
                            return read;
                        }
                    }
                    case BUFFER_OVERFLOW -> throw new SSLException("a record larger than the session's plaintext"
                            + " buffer of " + appIn.capacity() + " bytes");
                    case OK -> { } // a record: plaintext, or a post-handshake message
                }
            }
        } catch (SSLException e) {
            throw failure("the TLS session with " + peer + " failed", e);
        }
        int n = Math.min(into.remaining(), appIn.remaining());
        into.put(appIn.slice(appIn.position(), n));
        appIn.position(appIn.position() + n);
        return n;
    }

    @Override
    long writeNow(ByteBuffer[] from) throws IOException {
        if (!flushNow()) {
            return 0;
        }
        try {
            SSLEngineResult result = wrap(from);
            if (result.getStatus() == SSLEngineResult.Status.CLOSED) {
                throw new EOFException("the TLS session with " + peer + " is closed");
            }
            flushNow();
            return result.bytesConsumed();
        } catch (SSLException e) {
            throw failure("the TLS session with " + peer + " failed", e);
        }
    }

    @Override
    boolean flushNow() throws IOException {
        while (netOut.hasRemaining()) {
            if (socket.write(netOut) == 0) {
                return false;
            }
        }
        return true;
    }

    /** Sends close_notify if the socket takes it now (the other side sees the end of the stream either way). */
    @Override
    public void close() throws IOException {
        try {
            engine.closeOutbound();
            if (flushNow()) {
                wrap(NOTHING);
                flushNow();
            }
        } catch (IOException | RuntimeException closing) {
            // the session is over either way
        } finally {
            super.close();
        }
    }

    private void flush() throws IOException {
        while (!flushNow()) {
            await(SelectionKey.OP_WRITE, "in the TLS handshake");
        }
    }

    /** Unwraps what records have arrived into the (empty) plaintext buffer. */
    private SSLEngineResult unwrap() throws SSLException {
        netIn.flip();
        appIn.compact();
        try {
            return engine.unwrap(netIn, appIn);
        } finally {
            appIn.flip();
            netIn.compact();
        }
    }

    /** Wraps {@code from} into the (flushed) record buffer: at most one record. */
    private SSLEngineResult wrap(ByteBuffer from) throws SSLException {
        return wrap(new ByteBuffer[] {from});
    }

    /** Wraps the next bytes of {@code from} (a gathering wrap) into the (flushed) record buffer: one record. */
    private SSLEngineResult wrap(ByteBuffer[] from) throws SSLException {
        netOut.compact();
        try {
            return engine.wrap(from, netOut);
        } finally {
            netOut.flip();
        }
    }

    /** Reads records from the socket, without waiting: the bytes read, 0 when none have, -1 at its end. */
    private int readRecords() throws IOException {
        return socket.read(netIn);
    }

    private void runTasks() {
        for (Runnable task; (task = engine.getDelegatedTask()) != null; ) {
            task.run();
        }
    }

    /** After the handshake TLS 1.3 may ask for an answer (a key update): written if the socket takes it now. */
    private void answerPostHandshake() throws IOException {
        runTasks();
        if (engine.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_WRAP && flushNow()) {
            wrap(NOTHING);
            flushNow();
        }
    }

    /** Best effort: the alert the engine holds after a failed handshake, so the other side learns why. */
    private void sendAlert() {
        try {
            engine.closeOutbound();
            wrap(NOTHING);
            flushNow();
        } catch (IOException | RuntimeException ignored) {
            // the other side sees the connection close
        }
    }

    /** A failure whose message names the certificate problem: every distinct reason along the causes. */
    private static MigrationException failure(String what, SSLException e) {
        List<String> reasons = new ArrayList<>();
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t.getMessage();
            if (m != null && reasons.stream().noneMatch(r -> r.contains(m))) {
                reasons.add(m);
            }
        }
        return new MigrationException(what + ": " + String.join("; ", reasons), e);
    }
}
