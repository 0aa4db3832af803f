// The detection model against hand-computed values. The same predictions are checked
// against the running kernel in tests/integration/dead_peer_test.cpp and
// tests/privileged/retransmission_limits_test.cpp.
#include "tcpka/detection_model.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace tcpka {
namespace {

ResolvedPolicy keepalive(int idle_s, int intvl_s, int count, Millis ut = Millis(0)) {
  return {true, Millis(idle_s * 1'000), Millis(intvl_s * 1'000), count, ut};
}

const SystemDefaults kLinux;  // tcp_retries2=15, tcp_syn_retries=6, no linear rounds
const PathFacts kLoopback{Millis(0), Millis(204)};  // RTO as TCP_INFO shows it at HZ=250

TEST(Predict, LinuxDefaultsFindAnIdleDeadPeerAfter7875Seconds) {
  const ResolvedPolicy defaults = keepalive(7'200, 75, 9);
  const Detection d = predict(PeerFailure::host_silent, Activity::idle, defaults, kLinux);
  ASSERT_TRUE(d.detected);
  EXPECT_EQ(d.earliest, Millis(7'875'000));
  EXPECT_EQ(d.error, std::errc::timed_out);
  EXPECT_EQ(d.cause, CloseCause::keepalive_timeout);
  EXPECT_EQ(d.probes, 9);
  EXPECT_EQ(describe(d.origin), "the last segment from the peer");
}

TEST(Predict, TheSeedsTenFiveFiveIs35Seconds) {
  const Detection d =
      predict(PeerFailure::host_silent, Activity::idle, keepalive(10, 5, 5), kLinux);
  EXPECT_EQ(d.earliest, Millis(35'000));
  EXPECT_EQ(d.probes, 5);
}

TEST(Predict, LatestAddsTheTimerSlackTheRoundTripAndFiftyMilliseconds) {
  const PathFacts path{Millis(2), std::nullopt};
  const Detection d =
      predict(PeerFailure::host_silent, Activity::idle, keepalive(10, 5, 5), kLinux, path);
  EXPECT_EQ(d.latest, Millis(35'000 + 35'000 / 8 + 2 + 50));
  EXPECT_TRUE(d.admits(Millis(35'000)));
  EXPECT_TRUE(d.admits(d.latest));
  EXPECT_FALSE(d.admits(Millis(34'999)));
  EXPECT_FALSE(d.admits(d.latest + Millis(1)));
}

TEST(Predict, ReceivingIsIdleToTheKernel) {
  const Detection idle =
      predict(PeerFailure::host_silent, Activity::idle, keepalive(10, 5, 5), kLinux);
  const Detection receiving =
      predict(PeerFailure::host_silent, Activity::receiving, keepalive(10, 5, 5), kLinux);
  EXPECT_EQ(idle.earliest, receiving.earliest);
  EXPECT_EQ(idle.cause, receiving.cause);
}

TEST(Predict, WithoutKeepaliveAnIdleDeadPeerIsNeverFound) {
  ResolvedPolicy off = keepalive(10, 5, 5);
  off.keepalive = false;
  EXPECT_FALSE(predict(PeerFailure::host_silent, Activity::idle, off, kLinux).detected);
  off.user_timeout = Millis(30'000);  // a user timeout alone sends no probes
  const Detection d = predict(PeerFailure::host_silent, Activity::idle, off, kLinux);
  EXPECT_FALSE(d.detected);
  EXPECT_NE(d.explanation.find("TCP_USER_TIMEOUT alone sends no probes"), std::string::npos);
}

TEST(Predict, UnackedDataToASilentPeerTakesRetriesTwo) {
  // 924.6 s counted from the first retransmission, which comes one tail-loss probe and
  // one RTO (0.204 s each here) after the send; at 0.408 s per doubling the 15th
  // retransmission is 928.488 s after the first.
  const Detection d =
      predict(PeerFailure::host_silent, Activity::sending, keepalive(10, 5, 5), kLinux, kLoopback);
  ASSERT_TRUE(d.detected);
  EXPECT_EQ(d.cause, CloseCause::retransmit_timeout);
  EXPECT_EQ(d.error, std::errc::timed_out);
  EXPECT_EQ(d.retransmissions, 15);
  EXPECT_EQ(d.earliest, Millis(2 + 204 + 928'488));  // a tail-loss probe 2 ms after the send
  // At the latest, a single segment in flight waits 200 ms for its tail-loss probe.
  EXPECT_EQ(d.latest, Millis(200 + 204 + 928'488 + (200 + 204 + 928'488) / 8 + 50));
  EXPECT_EQ(describe(d.origin), "the first send of the unacknowledged data");
}

TEST(Predict, UnackedDataWithoutAKnownRtoSpansEveryRoundingOfIt) {
  // RTOs from 201 to 210 ms: never before the first retransmission plus 924.6 s.
  const Detection d =
      predict(PeerFailure::host_silent, Activity::sending, keepalive(10, 5, 5), kLinux);
  EXPECT_GE(d.earliest, Millis(201 + 924'600));
  EXPECT_LE(d.earliest, Millis(930'000));
  EXPECT_LT(d.latest, Millis(1'060'000));
}

TEST(Predict, UserTimeoutBoundsUnackedData) {
  const Detection d = predict(PeerFailure::host_silent, Activity::sending,
                              keepalive(10, 5, 5, Millis(1'500)), kLinux, kLoopback);
  EXPECT_EQ(d.cause, CloseCause::user_timeout);
  EXPECT_EQ(d.earliest, Millis(2 + 204 + 1'500));
  EXPECT_EQ(d.latest, Millis(1'904 + 1'904 / 8 + 50));
}

TEST(Predict, WithoutTailLossProbesTheFirstRetransmissionIsOneRto) {
  SystemDefaults no_tlp;
  no_tlp.tail_loss_probe = false;
  const Detection d = predict(PeerFailure::host_silent, Activity::sending,
                              keepalive(10, 5, 5, Millis(1'500)), no_tlp, kLoopback);
  EXPECT_EQ(d.earliest, Millis(204 + 1'500));
  EXPECT_EQ(d.latest, Millis(1'704 + 1'704 / 8 + 50));
}

TEST(Predict, UserTimeoutReplacesTheKeepaliveCount) {
  const Detection longer = predict(PeerFailure::host_silent, Activity::idle,
                                   keepalive(10, 5, 5, Millis(60'000)), kLinux);
  EXPECT_EQ(longer.earliest, Millis(60'000));
  EXPECT_EQ(longer.probes, 10);
  const Detection automatic = predict(PeerFailure::host_silent, Activity::idle,
                                      keepalive(10, 5, 5, Millis(35'000)), kLinux);
  EXPECT_EQ(automatic.earliest, Millis(35'000));
  EXPECT_EQ(automatic.probes, 5);
  const Detection below_idle =
      predict(PeerFailure::host_silent, Activity::idle, keepalive(10, 5, 5, Millis(3'000)), kLinux);
  EXPECT_EQ(below_idle.earliest, Millis(15'000));
  EXPECT_EQ(below_idle.probes, 1);
}

TEST(Predict, ShutWindowToASilentPeer) {
  const Detection d = predict(PeerFailure::host_silent, Activity::window_closed,
                              keepalive(10, 5, 5), kLinux, kLoopback);
  EXPECT_EQ(d.cause, CloseCause::zero_window_timeout);
  EXPECT_EQ(d.probes, 15);
  // Probes at 0.204 s doubling to 120 s; the 16th timer run ends it.
  EXPECT_EQ(d.earliest, Millis(204 * 1'023 + 6 * 120'000));
  const Detection bounded = predict(PeerFailure::host_silent, Activity::window_closed,
                                    keepalive(10, 5, 5, Millis(3'000)), kLinux, kLoopback);
  EXPECT_EQ(bounded.cause, CloseCause::user_timeout);
  EXPECT_EQ(bounded.earliest, Millis(3'204));
}

TEST(Predict, AHungPeerIsInvisibleToKeepalive) {
  const Detection idle = predict(PeerFailure::process_hung, Activity::idle,
                                 keepalive(10, 5, 5, Millis(35'000)), kLinux);
  EXPECT_FALSE(idle.detected);
  EXPECT_NE(idle.explanation.find("heartbeat"), std::string::npos);
}

TEST(Predict, AHungPeerIsFoundByUserTimeoutOnlyWhileSending) {
  EXPECT_FALSE(
      predict(PeerFailure::process_hung, Activity::sending, keepalive(10, 5, 5), kLinux, kLoopback)
          .detected);
  const Detection d = predict(PeerFailure::process_hung, Activity::sending,
                              keepalive(10, 5, 5, Millis(3'000)), kLinux, kLoopback);
  ASSERT_TRUE(d.detected);
  EXPECT_EQ(d.earliest, Millis(3'204));
  EXPECT_EQ(d.cause, CloseCause::user_timeout);
  EXPECT_EQ(d.probes, 0);
}

TEST(Predict, ARebootedPeerAnswersTheFirstProbeWithReset) {
  const Detection d =
      predict(PeerFailure::host_rebooted, Activity::idle, keepalive(10, 5, 5), kLinux);
  EXPECT_EQ(d.earliest, Millis(10'000));
  EXPECT_EQ(d.error, std::errc::connection_reset);
  EXPECT_EQ(d.cause, CloseCause::peer_reset);
  EXPECT_EQ(d.probes, 1);  // the probe that met the RST
  const Detection sending = predict(PeerFailure::host_rebooted, Activity::sending,
                                    keepalive(10, 5, 5), kLinux, kLoopback);
  EXPECT_EQ(sending.earliest, Millis(2));  // the tail-loss probe
  EXPECT_LE(sending.latest, Millis(204 + 204 / 8 + 50));
  EXPECT_EQ(sending.retransmissions, 1);
}

// tcp_v4_err() accepts ICMP quoting sequence numbers from snd_una on: retransmitted data,
// not the probes, which carry snd_una - 1.
TEST(Predict, IcmpUnreachableAnsweringProbesIsIgnored) {
  const Detection idle =
      predict(PeerFailure::unreachable, Activity::idle, keepalive(10, 5, 5), kLinux);
  EXPECT_EQ(idle.earliest, Millis(35'000));
  EXPECT_EQ(idle.error, std::errc::timed_out);
  EXPECT_EQ(idle.cause, CloseCause::keepalive_timeout);
  EXPECT_NE(idle.explanation.find("ICMP unreachable for each probe is ignored"), std::string::npos);
  const Detection window = predict(PeerFailure::unreachable, Activity::window_closed,
                                   keepalive(10, 5, 5), kLinux, kLoopback);
  EXPECT_EQ(window.error, std::errc::timed_out);
  EXPECT_EQ(window.cause, CloseCause::zero_window_timeout);
}

TEST(Predict, IcmpUnreachableAnsweringDataIsReported) {
  const Detection sending = predict(PeerFailure::unreachable, Activity::sending,
                                    keepalive(10, 5, 5, Millis(1'500)), kLinux, kLoopback);
  EXPECT_EQ(sending.error, std::errc::host_unreachable);
  EXPECT_EQ(sending.cause, CloseCause::unreachable);
  // The bound after the earliest first retransmission (tail-loss probe at 2 ms + RTO).
  EXPECT_EQ(sending.earliest, Millis(2 + 204 + 1'500));
  const Detection connecting =
      predict(PeerFailure::unreachable, Activity::connecting, keepalive(10, 5, 5), kLinux);
  EXPECT_EQ(connecting.earliest, Millis(0));
  EXPECT_EQ(connecting.error, std::errc::host_unreachable);
}

TEST(Predict, NonsensePathFactsDoNotHangOrCrash) {
  const ResolvedPolicy policy = keepalive(10, 5, 5, Millis(30'000));
  for (const PathFacts& path :
       {PathFacts{Millis(-5), std::nullopt}, PathFacts{Millis(0), Millis(0)},
        PathFacts{Millis(3'600'000), std::nullopt}}) {
    const Detection d = predict(PeerFailure::host_silent, Activity::sending, policy, kLinux, path);
    EXPECT_TRUE(d.detected);
    EXPECT_LE(d.earliest, d.latest);
  }
  ResolvedPolicy zero_interval = policy;
  zero_interval.interval = Millis(0);
  EXPECT_TRUE(predict(PeerFailure::host_silent, Activity::idle, zero_interval, kLinux).detected);
}

TEST(Predict, AnExitedProcessIsSeenAtOnce) {
  const Detection idle =
      predict(PeerFailure::process_exit, Activity::idle, keepalive(10, 5, 5), kLinux);
  EXPECT_EQ(idle.earliest, Millis(0));
  EXPECT_FALSE(idle.error);  // end of file
  EXPECT_EQ(idle.cause, CloseCause::peer_closed);
  EXPECT_EQ(
      predict(PeerFailure::process_exit, Activity::sending, keepalive(10, 5, 5), kLinux).cause,
      CloseCause::peer_reset);
  EXPECT_EQ(
      predict(PeerFailure::process_exit, Activity::connecting, keepalive(10, 5, 5), kLinux).error,
      std::errc::connection_refused);
}

TEST(Predict, ConnectToASilentHost) {
  const Detection plain =
      predict(PeerFailure::host_silent, Activity::connecting, keepalive(10, 5, 5), kLinux);
  EXPECT_EQ(plain.earliest, Millis(127'000));
  EXPECT_EQ(plain.cause, CloseCause::connect_timeout);
  SystemDefaults linear;
  linear.syn_linear_timeouts = 4;
  EXPECT_EQ(
      predict(PeerFailure::host_silent, Activity::connecting, keepalive(10, 5, 5), linear).earliest,
      Millis(131'000));
  EXPECT_EQ(predict(PeerFailure::host_silent, Activity::connecting,
                    keepalive(10, 5, 5, Millis(2'500)), linear)
                .earliest,
            Millis(2'500));
}

}  // namespace
}  // namespace tcpka
