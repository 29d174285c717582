package dev.kdirect.tcprepair;

/**
 * What a migration session may make the other side hold: every length is checked against these (and against the
 * bytes actually in the frame) before anything is allocated for it, and a session that exceeds one is aborted and
 * rolled back. The defaults fit any connection this kernel can have: a queue holds at most the kernel's largest
 * socket buffers ({@code net.ipv4.tcp_rmem}, {@code tcp_wmem}, {@code net.core.rmem_max}, {@code wmem_max}).
 *
 * @param maxFrameBytes the largest frame, its length field excluded
 * @param maxQueueBytes the most queued bytes (receive, sent-unacknowledged and unsent together) one image may carry
 * @param maxAttachmentBytes the largest attachment (application state) of one connection
 * @param maxImages the most connections one session may move
 * @param maxSessionBytes the most bytes one session may receive, all frames together (what a target holds until
 *     COMMIT)
 */
public record MigrationLimits(int maxFrameBytes, int maxQueueBytes, int maxAttachmentBytes, int maxImages,
        long maxSessionBytes) {
    /** The fixed part of an image (IPv6) and of an IMAGE frame around it: far below this. */
    private static final int FRAMING = 4096;

    public MigrationLimits {
        if (maxFrameBytes < FRAMING || maxQueueBytes < 0 || maxAttachmentBytes < 0 || maxImages < 1
                || maxSessionBytes < maxFrameBytes) {
            throw new IllegalArgumentException("limits out of range (a frame of at least " + FRAMING
                    + " bytes, a session of at least one frame, at least one image): " + this);
        }
    }

    /**
     * Queues as large as the kernel's buffer maxima here allow, 1 MiB of attachment, frames to carry both, 65,536
     * connections, and a quarter of this JVM's maximum heap per session.
     */
    public static MigrationLimits defaults() {
        KernelBuffers buffers = KernelBuffers.current();
        int queue = (int) Math.min(Integer.MAX_VALUE / 2, (long) buffers.receiveMax() + buffers.sendMax());
        int attachment = 1 << 20;
        return new MigrationLimits(queue + attachment + FRAMING, queue, attachment, 1 << 16,
                Math.max(queue + attachment + FRAMING, Runtime.getRuntime().maxMemory() / 4));
    }

    public MigrationLimits withMaxFrameBytes(int bytes) {
        return new MigrationLimits(bytes, maxQueueBytes, maxAttachmentBytes, maxImages, maxSessionBytes);
    }

    public MigrationLimits withMaxQueueBytes(int bytes) {
        return new MigrationLimits(maxFrameBytes, bytes, maxAttachmentBytes, maxImages, maxSessionBytes);
    }

    public MigrationLimits withMaxAttachmentBytes(int bytes) {
        return new MigrationLimits(maxFrameBytes, maxQueueBytes, bytes, maxImages, maxSessionBytes);
    }

    public MigrationLimits withMaxImages(int images) {
        return new MigrationLimits(maxFrameBytes, maxQueueBytes, maxAttachmentBytes, images, maxSessionBytes);
    }

    public MigrationLimits withMaxSessionBytes(long bytes) {
        return new MigrationLimits(maxFrameBytes, maxQueueBytes, maxAttachmentBytes, maxImages, bytes);
    }

    /** The largest image these limits admit: its fixed fields and the queue bytes. */
    int maxImageBytes() {
        return ConnectionImage.MAX_FIXED_BYTES + maxQueueBytes;
    }
}
