package dev.kdirect.tcprepair;

import static org.assertj.core.api.Assertions.assertThat;

/** What the checkpoints of the two ends of one quiet connection must agree on. */
final class BothEnds {
    private BothEnds() {
    }

    /** One end's send sequence is the other's receive sequence, the window scales cross, options match. */
    static void assertAgree(ConnectionState a, ConnectionState b) {
        assertThat(a.local()).isEqualTo(b.remote());
        assertThat(a.remote()).isEqualTo(b.local());
        assertThat(a.receiveSequence()).isEqualTo(b.sendSequence());
        assertThat(a.sendSequence()).isEqualTo(b.receiveSequence());
        assertThat(a.options().sendWindowScale()).isEqualTo(b.options().receiveWindowScale());
        assertThat(a.options().receiveWindowScale()).isEqualTo(b.options().sendWindowScale());
        assertThat(a.options().timestamps()).isTrue();
        assertThat(b.options().timestamps()).isTrue();
        assertThat(a.options().sackPermitted()).isEqualTo(b.options().sackPermitted());
        assertThat(a.options().mssClamp()).isPositive();
    }
}
