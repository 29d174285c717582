package dev.kdirect.netty;

import io.netty.channel.Channel;

/**
 * The application's state of one connection, carried with it to the successor (the migration's attachment). The
 * bytes are the application's own format: kdirect carries them unchanged, bounded by the migration's attachment
 * limit ({@code MigrationLimits}, 1 MiB by default, together with the bytes Netty held).
 *
 * <p>{@link #save} runs on the channel's event loop after reads stopped and before kdirect takes its pipeline
 * apart, so it sees the handlers as they are; {@link #restore} runs on the new channel's event loop once the
 * successor's {@code ChannelInitializer} has built the pipeline, before the carried outbound bytes are written,
 * before {@code channelActive} reaches the application's handlers and before the carried inbound bytes are fired.
 * A channel that stays with the old process (the migration refused or rolled it back) goes through the same
 * {@code save}, rebuild, {@code restore}.
 */
public interface ChannelStateCodec {
    /** No application state: nothing travels but the connection and the bytes Netty held. */
    ChannelStateCodec NONE = new ChannelStateCodec() {
        @Override
        public byte[] save(Channel channel) {
            return new byte[0];
        }

        @Override
        public void restore(Channel channel, byte[] state) {
        }
    };

    /**
     * The state of {@code channel}, whose reads are stopped. Throwing refuses the handoff of this channel, which
     * goes on untouched.
     */
    byte[] save(Channel channel) throws Exception;

    /**
     * Puts {@code state} (from {@link #save}) on the new {@code channel}. Throwing closes the channel: its state is
     * lost, so it cannot be served correctly.
     */
    void restore(Channel channel, byte[] state) throws Exception;
}
