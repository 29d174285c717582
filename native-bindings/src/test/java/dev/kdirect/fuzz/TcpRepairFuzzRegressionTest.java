package dev.kdirect.fuzz;

import dev.kdirect.Feature;
import dev.kdirect.SocketConstants;
import dev.kdirect.fuzz.TcpRepairFuzzer.Base;
import dev.kdirect.fuzz.TcpRepairFuzzer.Role;
import dev.kdirect.fuzz.TcpRepairFuzzer.Target;
import dev.kdirect.testing.RequiresRealKernel;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Disagreements {@link TcpRepairFuzzer} found between the real kernel and the model, shrunk, each fixed in the model
 * (the rule and its kernel source are cited where the model follows it); they run on both kernels again here.
 */
@RequiresRealKernel(Feature.TCP_REPAIR)
class TcpRepairFuzzRegressionTest {
    @Test
    void aZeroLengthReadWaitsForAByteLikeAnyOther() throws Exception {
        // was: the model answered 0 where the kernel says EAGAIN (connected, empty) and ENOTCONN (never connected)
        Differential.assertAgree(new TcpRepairFuzzer(), List.of(
                new TcpRepairFuzzer.Recv(Role.CLIENT, 0, false),
                new TcpRepairFuzzer.Recv(Role.RESTORE, 0, false),
                new TcpRepairFuzzer.Send(Role.SERVER, 5, 1),
                new TcpRepairFuzzer.Recv(Role.CLIENT, 0, false)));
    }

    @Test
    void theTimestampsLowBitIsTheMicrosecondFlagSince67() throws Exception {
        // was: the model kept the low bit of the clock sum, and no TCPI_OPT_USEC_TS
        Differential.assertAgree(new TcpRepairFuzzer(), List.of(
                new TcpRepairFuzzer.GetTimestamp(Role.FRESH),
                new TcpRepairFuzzer.Repair(Role.FRESH, 1),
                new TcpRepairFuzzer.SetTimestamp(Role.FRESH, -1755221151),
                new TcpRepairFuzzer.Info(Role.FRESH, 232),
                new TcpRepairFuzzer.GetTimestamp(Role.FRESH),
                new TcpRepairFuzzer.Listen(Role.FRESH),
                new TcpRepairFuzzer.Info(Role.FRESH, 232)));
    }

    @Test
    void theMssClampIsZeroUntilAConnectEvenAFailedOneSetsIt() throws Exception {
        // was: the model's clamp started at 536, and a connect refused with EADDRNOTAVAIL did not set it
        Differential.assertAgree(new TcpRepairFuzzer(), List.of(
                new TcpRepairFuzzer.Repair(Role.RESTORE, 1),
                new TcpRepairFuzzer.GetOption(Role.RESTORE, SocketConstants.TCP_MAXSEG),
                new TcpRepairFuzzer.Bind(Role.RESTORE, Target.CLIENT_ADDRESS),
                new TcpRepairFuzzer.Connect(Role.RESTORE, Target.LISTENER),
                new TcpRepairFuzzer.GetOption(Role.RESTORE, SocketConstants.TCP_MAXSEG)));
    }

    @Test
    void dataToAPeerThatClosedDrawsARstAndEpipe() throws Exception {
        // was: the model released the closed end and held the bytes back; the kernel's FIN_WAIT2 socket resets
        Differential.assertAgree(new TcpRepairFuzzer(), List.of(
                new TcpRepairFuzzer.Close(Role.SERVER),
                new TcpRepairFuzzer.Send(Role.CLIENT, 30, -493887732),
                new TcpRepairFuzzer.Info(Role.CLIENT, 232),
                new TcpRepairFuzzer.Recv(Role.CLIENT, 10, false),
                new TcpRepairFuzzer.Ioctl(Role.CLIENT, SocketConstants.SIOCOUTQ),
                new TcpRepairFuzzer.Send(Role.CLIENT, 45, -1227819836),
                new TcpRepairFuzzer.Send(Role.CLIENT, 45, -1227819836)));
    }

    @Test
    void aResetSocketMayBeBoundAgainAndListenRechecksThePort() throws Exception {
        // was: EINVAL for the bind (the model kept the port), and listen took a port shared in repair mode
        Differential.assertAgree(new TcpRepairFuzzer(), List.of(
                new TcpRepairFuzzer.Close(Role.CLIENT),
                new TcpRepairFuzzer.Send(Role.SERVER, 1426, -966729833),
                new TcpRepairFuzzer.Bind(Role.SERVER, Target.SINK),
                new TcpRepairFuzzer.Repair(Role.RESTORE, 1),
                new TcpRepairFuzzer.Bind(Role.RESTORE, Target.LISTENER),
                new TcpRepairFuzzer.Repair(Role.RESTORE, -1),
                new TcpRepairFuzzer.Listen(Role.RESTORE)));
    }

    @Test
    void bytesToALockedPeerWaitForTheSendWindow() throws Exception {
        // was: the model counted them sent although a repair connect's snd_wnd is 0
        Differential.assertAgree(new TcpRepairFuzzer(), List.of(
                new TcpRepairFuzzer.Repair(Role.RESTORE, 1),
                new TcpRepairFuzzer.Connect(Role.RESTORE, Target.SINK),
                new TcpRepairFuzzer.Repair(Role.RESTORE, 0),
                new TcpRepairFuzzer.Send(Role.RESTORE, 458, 705450565),
                new TcpRepairFuzzer.Ioctl(Role.RESTORE, SocketConstants.SIOCOUTQNSD),
                new TcpRepairFuzzer.Ioctl(Role.RESTORE, SocketConstants.SIOCOUTQ)));
    }

    @Test
    void bytesSentToALockedPeerCountAsSentAndEndTheTimeForRepairOptions() throws Exception {
        // was (seed 20261207, program 7775): the model sent them without counting bytes_sent, so a later
        // TCP_REPAIR_OPTIONS was ok where the kernel says EPERM (do_tcp_setsockopt checks tp->bytes_sent)
        Differential.assertAgree(new TcpRepairFuzzer(), List.of(
                new TcpRepairFuzzer.Repair(Role.RESTORE, 1),
                new TcpRepairFuzzer.Connect(Role.RESTORE, Target.SINK),
                new TcpRepairFuzzer.SetWindow(Role.RESTORE, 20, 71291, 105386, 140917, 77759, -1766),
                new TcpRepairFuzzer.Repair(Role.RESTORE, -1),
                new TcpRepairFuzzer.Send(Role.RESTORE, 1295, 803610040),
                new TcpRepairFuzzer.Ioctl(Role.RESTORE, SocketConstants.SIOCOUTQNSD),
                new TcpRepairFuzzer.Repair(Role.RESTORE, 1),
                new TcpRepairFuzzer.RepairOptions(Role.RESTORE, new int[] {8, 3, 2},
                        new int[] {0, 65537, -1086940857}, 24)));
    }

    @Test
    void aSendBehindUnacknowledgedBytesToALockedPeerIsRefused() throws Exception {
        // was (seed 20261207, program 7395): the model sent the 60 bytes, the kernel keeps them (SIOCOUTQNSD 60):
        // Nagle's rule holds a short segment while the 565 bytes sent in repair mode are unacknowledged
        Differential.assertRefused(new TcpRepairFuzzer(), List.of(
                new TcpRepairFuzzer.Repair(Role.RESTORE, 1),
                new TcpRepairFuzzer.Connect(Role.RESTORE, Target.SINK),
                new TcpRepairFuzzer.RepairQueue(Role.RESTORE, 2),
                new TcpRepairFuzzer.Send(Role.RESTORE, 565, -1522867645),
                new TcpRepairFuzzer.SetWindow(Role.RESTORE, 20, 31823, 1940017228, -1082947987, 163288, -1435),
                new TcpRepairFuzzer.Repair(Role.RESTORE, -1),
                new TcpRepairFuzzer.Send(Role.RESTORE, 60, 379529569),
                new TcpRepairFuzzer.Ioctl(Role.RESTORE, SocketConstants.SIOCOUTQNSD)), 6, "tcp_nagle_check");
    }

    @Test
    void aRepairConnectKeepsTheTimestampSetBeforeIt() throws Exception {
        // was (seed 20261207, program 8354): the model drew a new offset at a repair connect; tcp_v4_connect does
        // that only outside repair mode
        Differential.assertAgree(new TcpRepairFuzzer(), List.of(
                new TcpRepairFuzzer.Repair(Role.RESTORE, 1),
                new TcpRepairFuzzer.SetTimestamp(Role.RESTORE, 1828021738),
                new TcpRepairFuzzer.Connect(Role.RESTORE, Target.SINK),
                new TcpRepairFuzzer.GetTimestamp(Role.RESTORE)));
    }

    @Test
    void theMssOptionIsCutToTheSixteenBitsOfMssClamp() throws Exception {
        // was (seed 777, program 4548): the model kept 67943496 where rx_opt.mss_clamp (a u16) holds 48200
        Differential.assertAgree(new TcpRepairFuzzer(), List.of(
                new TcpRepairFuzzer.Repair(Role.SERVER, 1),
                new TcpRepairFuzzer.RepairOptions(Role.SERVER, new int[] {0, 2, 99, 5}, new int[] {0, 67943496, 0, 0},
                        32),
                new TcpRepairFuzzer.GetOption(Role.SERVER, SocketConstants.TCP_MAXSEG)));
    }

    @Test
    void aWriteSeqSetBeforeAConnectIsItsInitialSequence() throws Exception {
        // was (seed 777, program 21505): the model drew a new ISN; tcp_v4_connect keeps a write_seq that is not 0
        Differential.assertAgree(new TcpRepairFuzzer(), List.of(
                new TcpRepairFuzzer.Repair(Role.RESTORE, 1),
                new TcpRepairFuzzer.RepairQueue(Role.RESTORE, SocketConstants.TCP_SEND_QUEUE),
                new TcpRepairFuzzer.SetQueueSeq(Role.RESTORE, Base.C2S, -43),
                new TcpRepairFuzzer.Repair(Role.RESTORE, 0),
                new TcpRepairFuzzer.Connect(Role.RESTORE, Target.LISTENER),
                new TcpRepairFuzzer.GetOption(Role.RESTORE, SocketConstants.TCP_QUEUE_SEQ)));
    }

    @Test
    void aRefusedConnectDisconnectsAndMovesWriteSeq() throws Exception {
        // was (seed 777, program 98065): SIOCOUTQ 0 on the model, 3 on the kernel (the SYN, then tcp_disconnect's 2)
        Differential.assertAgree(new TcpRepairFuzzer(), List.of(
                new TcpRepairFuzzer.Close(Role.LISTENER),
                new TcpRepairFuzzer.Connect(Role.FRESH, Target.LISTENER),
                new TcpRepairFuzzer.Ioctl(Role.FRESH, SocketConstants.SIOCOUTQ)));
    }

    @Test
    void aReadTakesTheFinBehindTheDataAndAResetPurgesTheQueues() throws Exception {
        // was (seed 777, program 25248): TCP_QUEUE_SEQ EPERM on the model (rcv_nxt past copied_seq by the FIN, and
        // the reset's queue kept), ok on the kernel
        Differential.assertAgree(new TcpRepairFuzzer(), List.of(
                new TcpRepairFuzzer.Repair(Role.CLIENT, 1),
                new TcpRepairFuzzer.RepairQueue(Role.CLIENT, SocketConstants.TCP_RECV_QUEUE),
                new TcpRepairFuzzer.Repair(Role.CLIENT, 0),
                new TcpRepairFuzzer.Close(Role.SERVER),
                new TcpRepairFuzzer.Send(Role.CLIENT, 29, -515991619),
                new TcpRepairFuzzer.Recv(Role.CLIENT, 1857, false),
                new TcpRepairFuzzer.SetQueueSeq(Role.CLIENT, Base.S2C, -1039)));
    }

    @Test
    void aSegmentAcknowledgingBytesNeverSentIsDropped() throws Exception {
        // was (seed 777, program 49147): the model delivered the 14 bytes; their ACK covers the 32 bytes TCP_REPAIR
        // put in the client's receive queue, which the server never sent, so tcp_ack makes it discard the segment
        Differential.assertAgree(new TcpRepairFuzzer(), List.of(
                new TcpRepairFuzzer.Repair(Role.CLIENT, 1),
                new TcpRepairFuzzer.RepairQueue(Role.CLIENT, SocketConstants.TCP_RECV_QUEUE),
                new TcpRepairFuzzer.Send(Role.CLIENT, 32, 33515350),
                new TcpRepairFuzzer.Repair(Role.CLIENT, -1),
                new TcpRepairFuzzer.Send(Role.CLIENT, 14, 849202770),
                new TcpRepairFuzzer.Ioctl(Role.SERVER, SocketConstants.SIOCINQ)));
    }

    @Test
    void theFourTupleIsCheckedBeforeTheSynMeetsAClosedPort() throws Exception {
        // was (seed 20261207, program 84211): ECONNREFUSED on the model, EADDRNOTAVAIL on the kernel
        Differential.assertAgree(new TcpRepairFuzzer(), List.of(
                new TcpRepairFuzzer.Repair(Role.RESTORE, 1),
                new TcpRepairFuzzer.Bind(Role.RESTORE, Target.CLIENT_ADDRESS),
                new TcpRepairFuzzer.Repair(Role.RESTORE, -1),
                new TcpRepairFuzzer.Close(Role.LISTENER),
                new TcpRepairFuzzer.Connect(Role.RESTORE, Target.LISTENER)));
    }

    @Test
    void theRepairWindowIsCheckedAgainstRcvNxt() throws Exception {
        // the known divergence (kernel EINVAL, model 0): snd_wl1 after rcv_nxt + rcv_wnd, rcv_wup after rcv_nxt
        Differential.assertAgree(new TcpRepairFuzzer(), List.of(
                new TcpRepairFuzzer.Repair(Role.CLIENT, 1),
                new TcpRepairFuzzer.SetWindow(Role.CLIENT, 20, 70_001, 1000, 1000, 70_000, 0),
                new TcpRepairFuzzer.SetWindow(Role.CLIENT, 20, 70_000, 1000, 1000, 70_000, 0),
                new TcpRepairFuzzer.SetWindow(Role.CLIENT, 20, 0, 1000, 1000, 70_000, 1),
                new TcpRepairFuzzer.SetWindow(Role.CLIENT, 20, 0, 1001, 1000, 70_000, 0),
                new TcpRepairFuzzer.SetQueueSeq(Role.RESTORE, Base.C2S, 0)));
    }
}
