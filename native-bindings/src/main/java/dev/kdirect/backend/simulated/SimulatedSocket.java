package dev.kdirect.backend.simulated;

/**
 * A socket of the simulated network. For now it carries only what socket(2) and the repair-mode switch need;
 * the TCP state machine of the tcprepair model builds on it.
 */
final class SimulatedSocket implements FileDescription {
    final int domain;
    final int type;
    boolean repair;

    SimulatedSocket(int domain, int type) {
        this.domain = domain;
        this.type = type;
    }

    @Override
    public void release() {
        repair = false;
    }
}
