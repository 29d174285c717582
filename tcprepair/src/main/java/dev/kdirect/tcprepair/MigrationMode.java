package dev.kdirect.tcprepair;

/**
 * Where the target restores, which decides the order of a migration (chosen explicitly: a wrong guess either
 * fails every restore or gives up the rollback).
 */
public enum MigrationMode {
    /**
     * Target in the same network namespace: the source's frozen socket holds the 4-tuple, so the target only
     * validates the images, the source releases, the target restores; a restore that fails is rolled back by the
     * source restoring its own copy of the state (its socket is gone). The source's lock covers both.
     */
    SAME_NAMESPACE,
    /**
     * Target in another network namespace (another host): the target restores first, and the source releases only
     * after the target's success, once the traffic has been switched over ({@code cutover}); rollback is thaw.
     */
    SEPARATE_NAMESPACES
}
