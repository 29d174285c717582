package dev.kdirect.netty;

import dev.kdirect.tcprepair.MigrationSource;
import dev.kdirect.tcprepair.MigrationTarget;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoEventLoop;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.unix.FileDescriptor;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Hands the live connections of a running Netty server to its successor process, and takes them over there, with
 * TCP_REPAIR ({@link MigrationSource}, {@link MigrationTarget}): the peers notice nothing but a pause.
 *
 * <pre>{@code
 * NettyHandoff handoff = NettyHandoff.of(initializer, codec);
 * // the old server (NIO: its server channel class must be HandoffNioServerSocketChannel; epoll: EpollServerSocketChannel)
 * NettyHandoff.Report report = handoff.handOff(liveChannels,
 *         MigrationSource.to(Path.of("/run/svc/handoff.sock")).mode(MigrationMode.SAME_NAMESPACE));
 * // the successor, whose own initializer builds each pipeline
 * try (MigrationTarget target = MigrationTarget.listen(Path.of("/run/svc/handoff.sock"))) {
 *     NettyHandoff.Arrived arrived = NettyHandoff.of(successorInitializer, codec).takeOver(target, workerGroup);
 * }
 * }</pre>
 *
 * <p><b>What travels with each connection.</b> The kernel's state (sequence numbers, both queues, options: the
 * {@code ConnectionImage}), and, as the migration's attachment: the application's state ({@link ChannelStateCodec});
 * the bytes in Netty's {@code ChannelOutboundBuffer} not yet written to the socket (flushed or not; their write
 * promises complete successfully when they are carried), written first on the successor, before anything the
 * application writes there; and the inbound bytes read from the kernel that the handlers have not consumed, fired
 * first on the successor, before any byte read from the socket there. kdirect finds those inbound bytes in the
 * cumulation of every {@code ByteToMessageDecoder} of the pipeline (a decoder's partial frame) and in every handler
 * that implements {@link InboundHolder}; they must be raw bytes of the stream, and are taken from the tail of the
 * pipeline to its head (see {@link InboundHolder}). Anything else a handler holds (decoded messages, counters) is
 * application state: carry it with the codec.
 *
 * <p><b>How.</b> On each channel's event loop, in one task: reads stop ({@code autoRead} off), the codec saves the
 * state, the outbound buffer is emptied into the attachment, the pipeline is taken apart from tail to head (each
 * decoder's cumulation captured as it is removed), and the channel is deregistered from its event loop (its socket
 * stays open). Then the migration runs on the calling thread. A channel that moved is closed here without a
 * packet (repair mode). A channel that stays (the target refused it, or the migration rolled back) is registered
 * again on its event loop with a pipeline built by the {@code initializer} given here and its state restored
 * through the same codec, carried bytes first, exactly as on the successor: it goes on, served by this process.
 * The successor registers each restored socket in its event loop group as a new channel (NIO: a {@link
 * HandoffNioSocketChannel}; epoll: an {@code EpollSocketChannel}), with the pipeline its own initializer builds.
 * {@code channelActive} reaches the application's handlers there after the state is restored and the carried
 * outbound bytes are written, before the carried inbound bytes are fired.
 *
 * <p><b>What is refused</b> (status {@link Status#REFUSED}: the channel is left exactly as it was, served here):
 * a TLS connection (an {@code SslHandler} in the pipeline: the SSLEngine's keys and record sequence numbers live
 * in the JDK and cannot be carried to another process); a half-closed connection (input or output shut down: TCP
 * repair restores only ESTABLISHED connections); a channel that is not connected, or of another transport than
 * {@link HandoffNioSocketChannel} and {@code EpollSocketChannel} (Netty's plain {@code NioSocketChannel} keeps its
 * JDK socket to itself: use {@link HandoffNioServerSocketChannel}); a codec that throws in {@code save}; an outbound
 * buffer holding anything but {@code ByteBuf}s (a {@code FileRegion}). A connection the kernel refuses to freeze
 * (it half-closed meanwhile) stays as {@link Status#KEPT}.
 *
 * <p>Neither method may run on an event loop thread: both wait for event loops. The migration's failures, limits
 * and security checks are {@link MigrationSource}'s and {@link MigrationTarget}'s (docs/tcprepair.md); the
 * attachment (state and carried bytes together) is bounded by the migration's attachment limit, 1 MiB by default.
 */
public final class NettyHandoff {
    /** Where a channel is after {@link #handOff}. */
    public enum Status {
        /** Lives at the successor now; the channel here is closed (no packet sent). */
        MOVED,
        /** Stays here in the same channel, registered again with a rebuilt pipeline (the migration's reason). */
        KEPT,
        /** Not handed off at all (TLS, half-closed, another transport, ...): untouched, the reason says why. */
        REFUSED,
        /** Stays here in a new channel ({@link Outcome#now}) restored from this side's copy; the old one is closed. */
        RESTORED_HERE,
        /** Could be neither moved nor kept; the channel here is closed. */
        LOST
    }

    /**
     * One channel's outcome: {@code now} serves the connection here (KEPT, REFUSED, RESTORED_HERE), else null; how
     * many inbound bytes (unconsumed by the handlers) and outbound bytes (from Netty's outbound buffer) it carried.
     */
    public record Outcome(Channel channel, Status status, Channel now, String reason, int inboundBytes,
            int outboundBytes) {
        Outcome(Channel channel, Status status, Channel now, String reason, Carried carried) {
            this(channel, status, now, reason, carried == null ? 0 : carried.inbound().length,
                    carried == null ? 0 : carried.outbound().length);
        }
    }

    /**
     * The outcomes in the order the channels were given, the migration's failure (null: every step went as
     * planned) and how long the network lock was held (0 when nothing was migrated).
     */
    public record Report(List<Outcome> outcomes, String failure, long lockedNanos) {
        public long count(Status status) {
            return outcomes.stream().filter(o -> o.status() == status).count();
        }
    }

    /** The successor's channels, registered and live, and the connections it could not put in service. */
    public record Arrived(List<Channel> channels, List<String> failures) {
    }

    private static final String ARRIVAL = "kdirect-arrival";
    private static final String CAPTURE = "kdirect-capture";
    /** How long a NIO channel may take to leave its JDK selector after deregistration (the selector's next select). */
    private static final long SELECTOR_DEADLINE_NANOS = TimeUnit.SECONDS.toNanos(5);

    private final ChannelHandler initializer;
    private final ChannelStateCodec codec;

    private NettyHandoff(ChannelHandler initializer, ChannelStateCodec codec) {
        this.initializer = Objects.requireNonNull(initializer);
        this.codec = Objects.requireNonNull(codec);
    }

    /**
     * A handoff whose channels put (back) in service get their pipeline from {@code initializer} (a {@code
     * ChannelInitializer}, which must be {@code @Sharable}: it is added to every such channel) and their
     * application state through {@code codec}.
     */
    public static NettyHandoff of(ChannelHandler initializer, ChannelStateCodec codec) {
        return new NettyHandoff(initializer, codec);
    }

    /** One channel on its way out. */
    private static final class Leaving {
        final Channel channel;
        String refusal;
        /** Why the channel was closed while being prepared, or null. */
        String lost;
        boolean autoRead;
        Carried carried;
        ChannelFuture deregistered;
        Outcome outcome;

        Leaving(Channel channel) {
            this.channel = channel;
        }

        boolean nio() {
            return channel instanceof HandoffNioSocketChannel;
        }
    }

    /**
     * Takes {@code channels} out of their event loops and migrates them through {@code source} (configured by the
     * caller: mode, timeout, progress, repair helper). Returns once every channel is where the report says.
     *
     * @throws IllegalStateException when called on an event loop thread
     */
    public Report handOff(Collection<? extends Channel> channels, MigrationSource source) throws IOException {
        List<Leaving> all = new ArrayList<>();
        for (Channel ch : channels) {
            if (ch.eventLoop().inEventLoop()) {
                throw new IllegalStateException("NettyHandoff.handOff waits for event loops: call it from another"
                        + " thread than " + Thread.currentThread().getName());
            }
            all.add(new Leaving(ch));
        }
        List<Future<?>> prepared = new ArrayList<>();
        for (Leaving l : all) {
            prepared.add(l.channel.eventLoop().submit(() -> prepare(l)));
        }
        for (int i = 0; i < all.size(); i++) {
            Leaving l = all.get(i);
            prepared.get(i).awaitUninterruptibly();
            if (!prepared.get(i).isSuccess() && l.refusal == null && l.carried == null && l.lost == null) {
                l.refusal = "preparing it failed: " + prepared.get(i).cause();
            }
        }
        List<Leaving> going = new ArrayList<>();
        for (Leaving l : all) {
            if (l.lost != null) {
                l.outcome = new Outcome(l.channel, Status.LOST, null, l.lost, (Carried) null);
            } else if (l.carried == null) {
                l.outcome = new Outcome(l.channel, Status.REFUSED, l.channel, l.refusal, (Carried) null);
            } else {
                l.deregistered.awaitUninterruptibly();
                going.add(l);
            }
        }
        leaveSelectors(going);
        String failure = null;
        long locked = 0;
        List<Leaving> migrating = going.stream().filter(l -> l.outcome == null).toList();
        if (!migrating.isEmpty()) {
            List<MigrationSource.Outgoing> outgoing = new ArrayList<>();
            for (Leaving l : migrating) {
                outgoing.add(outgoing(l));
            }
            try {
                MigrationSource.Report report = source.migrate(outgoing);
                failure = report.failure();
                locked = report.lockedNanos();
                for (int i = 0; i < migrating.size(); i++) {
                    migrating.get(i).outcome = settle(migrating.get(i), report.outcomes().get(i));
                }
            } catch (IOException | RuntimeException e) { // the lock could not be taken: nothing was touched
                failure = e.getMessage();
                for (Leaving l : migrating) {
                    l.outcome = putBack(l, "not migrated: " + e.getMessage());
                }
            }
        }
        return new Report(all.stream().map(l -> l.outcome).toList(), failure, locked);
    }

    /** On the channel's event loop: check, stop reads, save the state, empty Netty's buffers, deregister. */
    private void prepare(Leaving l) {
        Channel ch = l.channel;
        String refusal = refusal(ch);
        if (refusal != null) {
            l.refusal = refusal;
            return;
        }
        l.autoRead = ch.config().isAutoRead();
        ch.config().setAutoRead(false);
        byte[] state;
        try {
            state = codec.save(ch);
        } catch (Exception e) {
            ch.config().setAutoRead(l.autoRead);
            l.refusal = "ChannelStateCodec.save failed: " + e;
            return;
        }
        ChannelOutboundBuffer out = ch.unsafe().outboundBuffer();
        String unmovable = out == null ? null : unmovableOutbound(out);
        if (unmovable != null) {
            ch.config().setAutoRead(l.autoRead);
            l.refusal = unmovable;
            return;
        }
        try {
            byte[] outbound = takeOutbound(out);
            byte[] inbound = takeInbound(ch.pipeline());
            l.carried = new Carried(state, inbound, outbound);
            l.deregistered = ch.deregister();
        } catch (RuntimeException e) { // a handler's handlerRemoved threw: the pipeline is half gone, and so are bytes
            l.lost = "taking its pipeline apart failed (a handler's handlerRemoved threw): " + e;
            ch.close();
        }
    }

    /** Why this channel cannot be handed off, or null. */
    private static String refusal(Channel ch) {
        if (!ch.isActive()) {
            return "not connected (closed, or not yet connected)";
        }
        if (!(ch instanceof HandoffNioSocketChannel) && !(ch instanceof EpollSocketChannel)) {
            return "a " + ch.getClass().getName() + ": kdirect hands off HandoffNioSocketChannel (NIO: make"
                    + " HandoffNioServerSocketChannel the server's channel class) and EpollSocketChannel";
        }
        for (Map.Entry<String, ChannelHandler> e : ch.pipeline()) {
            if (e.getValue() instanceof SslHandler) {
                return "TLS (SslHandler '" + e.getKey() + "' in the pipeline): the SSLEngine's session keys and"
                        + " record sequence numbers cannot be carried to another process; the connection stays"
                        + " here until it closes";
            }
        }
        if (ch instanceof DuplexChannel d && (d.isInputShutdown() || d.isOutputShutdown())) {
            return "half-closed (" + (d.isInputShutdown() ? "input" : "output") + " shut down): TCP repair restores"
                    + " only ESTABLISHED connections; it stays here";
        }
        return null;
    }

    /** Marks every write flushed and names the first message that is not a ByteBuf, or null. */
    private static String unmovableOutbound(ChannelOutboundBuffer out) {
        out.addFlush();
        String[] kind = {null};
        try {
            out.forEachFlushedMessage(msg -> {
                if (!(msg instanceof ByteBuf)) {
                    kind[0] = msg.getClass().getName();
                    return false;
                }
                return true;
            });
        } catch (Exception e) {
            return "reading Netty's outbound buffer failed: " + e;
        }
        return kind[0] == null ? null : "Netty's outbound buffer holds a " + kind[0] + ", which cannot be carried"
                + " (only ByteBuf): the connection stays here";
    }

    /** The bytes not yet written to the socket, in order; their messages are removed (promises succeed). */
    private static byte[] takeOutbound(ChannelOutboundBuffer out) {
        if (out == null) {
            return new byte[0];
        }
        ByteBuf all = Unpooled.buffer();
        try {
            for (Object msg = out.current(); msg != null; msg = out.current()) {
                ByteBuf b = (ByteBuf) msg;
                all.writeBytes(b, b.readerIndex(), b.readableBytes());
                out.remove();
            }
            return bytes(all);
        } finally {
            all.release();
        }
    }

    /**
     * Takes the pipeline apart from tail to head, collecting the inbound bytes the handlers hold: an {@link
     * InboundHolder}'s, and each ByteToMessageDecoder's cumulation, which the decoder fires to the next handler as
     * it is removed (ByteToMessageDecoder.handlerRemoved): a capturing handler put right after it.
     */
    private static byte[] takeInbound(ChannelPipeline pipeline) {
        ByteBuf all = Unpooled.buffer();
        try {
            List<String> names = pipeline.names();
            for (int i = names.size() - 1; i >= 0; i--) {
                String name = names.get(i);
                ChannelHandler h = pipeline.get(name);
                if (h == null) {
                    continue; // the tail's name is listed too
                }
                if (h instanceof InboundHolder holder) {
                    ByteBuf held = holder.takeUnconsumed();
                    if (held != null) {
                        try {
                            all.writeBytes(held);
                        } finally {
                            held.release();
                        }
                    }
                }
                if (h instanceof ByteToMessageDecoder) {
                    Capture capture = new Capture(all);
                    pipeline.addAfter(name, CAPTURE, capture);
                    pipeline.remove(h);
                    pipeline.remove(capture);
                } else {
                    pipeline.remove(h);
                }
            }
            return bytes(all);
        } finally {
            all.release();
        }
    }

    /** Receives a removed decoder's cumulation. */
    private static final class Capture extends ChannelInboundHandlerAdapter {
        private final ByteBuf into;

        Capture(ByteBuf into) {
            this.into = into;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof ByteBuf b) {
                    into.writeBytes(b);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
        }
    }

    private static byte[] bytes(ByteBuf b) {
        byte[] bytes = new byte[b.readableBytes()];
        b.getBytes(b.readerIndex(), bytes);
        return bytes;
    }

    /**
     * A NIO channel's JDK socket leaves its Selector only at the selector's next select after the key's
     * cancellation, and the JDK shuts down the output (a FIN) of a channel closed while still registered
     * (SocketChannelImpl.implCloseSelectableChannel): wake each event loop until none of the sockets is registered.
     * One still registered at the deadline is put back.
     */
    private void leaveSelectors(List<Leaving> going) {
        long deadline = System.nanoTime() + SELECTOR_DEADLINE_NANOS;
        List<Leaving> waiting = going.stream().filter(Leaving::nio).toList();
        while (!waiting.isEmpty()) {
            Set<EventLoop> loops = new LinkedHashSet<>();
            waiting.forEach(l -> loops.add(l.channel.eventLoop()));
            for (EventLoop loop : loops) {
                loop.submit(() -> { }).awaitUninterruptibly(); // a task wakes the loop, which then selects again
            }
            waiting = waiting.stream().filter(l -> ((HandoffNioSocketChannel) l.channel).socket().isRegistered())
                    .toList();
            if (!waiting.isEmpty() && System.nanoTime() > deadline) {
                for (Leaving l : waiting) {
                    l.outcome = putBack(l, "its socket did not leave the JDK selector within 5 s");
                }
                return;
            }
            if (!waiting.isEmpty()) {
                LockSupport.parkNanos(100_000);
            }
        }
    }

    private static MigrationSource.Outgoing outgoing(Leaving l) {
        byte[] attachment = l.carried.encode();
        if (l.nio()) {
            return new MigrationSource.Outgoing(((HandoffNioSocketChannel) l.channel).socket(), attachment);
        }
        // FileDescriptor.close marks Netty's descriptor closed as it closes it: Netty never closes the number again
        FileDescriptor fd = ((EpollSocketChannel) l.channel).fd();
        return MigrationSource.Outgoing.ofDescriptor(fd.intValue(), fd::close, attachment);
    }

    /** Puts a channel where the migration left its connection. */
    private Outcome settle(Leaving l, MigrationSource.Outcome o) {
        return switch (o.status()) {
            case MOVED -> {
                l.channel.close();
                yield new Outcome(l.channel, Status.MOVED, null, o.reason(), l.carried);
            }
            case KEPT -> putBack(l, o.reason());
            case RESTORED_HERE -> {
                l.channel.close(); // its socket is closed already (released); this ends the Netty channel
                Channel fresh = l.nio() ? new HandoffNioSocketChannel(o.channel())
                        : new EpollSocketChannel(o.descriptor());
                Channel now = serve(fresh, l.channel.eventLoop(), l.carried);
                yield new Outcome(l.channel, now != null ? Status.RESTORED_HERE : Status.LOST, now, o.reason(),
                        l.carried);
            }
            case LOST -> {
                l.channel.close();
                yield new Outcome(l.channel, Status.LOST, null, o.reason(), l.carried);
            }
        };
    }

    /** The channel, deregistered with its pipeline taken apart, registered again and rebuilt: it goes on here. */
    private Outcome putBack(Leaving l, String reason) {
        Channel ch = l.channel;
        Arrival arrival = new Arrival(l.carried, codec, l.autoRead);
        ch.pipeline().addLast(ARRIVAL, arrival).addLast(initializer);
        ChannelFuture registered = ch.eventLoop().register(ch).awaitUninterruptibly();
        if (!registered.isSuccess()) {
            ch.close();
            return new Outcome(ch, Status.LOST, null, reason + "; registering it again failed: " + registered.cause(),
                    l.carried);
        }
        // registered again, Netty fires no channelActive: the arrival begins here, after the initializer ran
        ch.eventLoop().submit(() -> {
            ChannelHandlerContext ctx = ch.pipeline().context(arrival);
            if (ctx != null) {
                arrival.begin(ctx);
            }
        }).awaitUninterruptibly();
        return new Outcome(ch, Status.KEPT, ch, reason, l.carried);
    }

    /** Registers a new channel with the arrival and the initializer; null (the channel closed) when that fails. */
    private Channel serve(Channel fresh, EventLoopGroup group, Carried carried) {
        return served(register(fresh, group, carried));
    }

    /** Starts the registration of a new channel with the arrival and the initializer. */
    private ChannelFuture register(Channel fresh, EventLoopGroup group, Carried carried) {
        fresh.pipeline().addLast(ARRIVAL, new Arrival(carried, codec, null)).addLast(initializer);
        return group.register(fresh);
    }

    /** The registered channel, or null (closed) when its registration failed. */
    private static Channel served(ChannelFuture registration) {
        if (!registration.awaitUninterruptibly().isSuccess()) {
            registration.channel().close();
            return null;
        }
        return registration.channel();
    }

    /**
     * The successor's side: accepts one migration session on {@code target} and registers each connection it
     * restored in {@code group} (NIO or epoll; for epoll the target restores by descriptor) as a new channel with
     * the {@code initializer}'s pipeline, its state restored by the codec, the carried outbound bytes written and
     * the carried inbound bytes fired first. A connection whose attachment is not kdirect-netty's is closed and
     * named in {@link Arrived#failures}.
     *
     * @throws IllegalArgumentException when {@code group} is neither NIO nor epoll
     * @throws IOException as {@link MigrationTarget#accept}
     */
    public Arrived takeOver(MigrationTarget target, EventLoopGroup group) throws IOException {
        boolean epoll = isIoType(group, EpollIoHandler.class);
        if (!epoll && !isIoType(group, NioIoHandler.class)) {
            throw new IllegalArgumentException("kdirect-netty takes connections over into a NIO or epoll event loop"
                    + " group (MultiThreadIoEventLoopGroup with NioIoHandler or EpollIoHandler)");
        }
        if (epoll) {
            target.byDescriptor();
        }
        List<Channel> channels = new ArrayList<>();
        List<String> failures = new ArrayList<>();
        List<MigrationTarget.Incoming> arrived = target.accept();
        List<ChannelFuture> registering = new ArrayList<>(); // all at once: each event loop registers its share
        for (MigrationTarget.Incoming in : arrived) {
            Carried carried;
            try {
                carried = Carried.decode(in.attachment());
            } catch (IllegalArgumentException e) {
                failures.add(in.state().local() + " <- " + in.state().remote() + ": " + e.getMessage() + "; closed");
                closeQuietly(in);
                continue;
            }
            if (!epoll && in.channel() == null) { // the caller made the target restore by descriptor
                failures.add(in.state().local() + " <- " + in.state().remote() + ": restored by descriptor, which a"
                        + " NIO event loop cannot take (leave MigrationTarget.byDescriptor off for NIO); closed");
                closeQuietly(in);
                continue;
            }
            Channel fresh = epoll ? new EpollSocketChannel(in.descriptor()) : new HandoffNioSocketChannel(in.channel());
            registering.add(register(fresh, group, carried));
        }
        for (ChannelFuture registration : registering) {
            Channel served = served(registration);
            if (served != null) {
                channels.add(served);
            } else {
                failures.add(registration.channel() + ": registering it in the event loop group failed ("
                        + registration.cause() + "); closed");
            }
        }
        return new Arrived(List.copyOf(channels), List.copyOf(failures));
    }

    private static boolean isIoType(EventLoopGroup group, Class<? extends io.netty.channel.IoHandler> type) {
        return group.next() instanceof IoEventLoop loop && loop.isIoType(type);
    }

    private static void closeQuietly(MigrationTarget.Incoming in) {
        try {
            if (in.channel() != null) {
                in.channel().close();
            } else {
                new FileDescriptor(in.descriptor()).close();
            }
        } catch (IOException e) {
            // closing a socket we own: nothing else to do
        }
    }
}
