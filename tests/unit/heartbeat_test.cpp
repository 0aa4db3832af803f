#include "tcpka/heartbeat.h"

#include <gtest/gtest.h>

namespace tcpka {
namespace {

TEST(ParseHeartbeat, AnIntervalAloneTimesOutAfterThreeIntervals) {
  auto policy = parse_heartbeat("1s");
  ASSERT_TRUE(policy) << policy.error().message;
  EXPECT_EQ(policy->interval, Millis(1'000));
  EXPECT_EQ(policy->timeout, Millis(3'000));
  EXPECT_FALSE(policy->phi);
  EXPECT_EQ(to_string(*policy), "1s");
}

TEST(ParseHeartbeat, ReadsAFixedTimeout) {
  auto policy = parse_heartbeat("500ms, timeout=2s");
  ASSERT_TRUE(policy) << policy.error().message;
  EXPECT_EQ(policy->interval, Millis(500));
  EXPECT_EQ(policy->timeout, Millis(2'000));
  EXPECT_EQ(to_string(*policy), "500ms,timeout=2s");
}

TEST(ParseHeartbeat, ReadsPhiAccrualWithItsOptions) {
  auto policy = parse_heartbeat("1s,phi=10,window=50,min-deviation=200ms,pause=2s");
  ASSERT_TRUE(policy) << policy.error().message;
  ASSERT_TRUE(policy->phi);
  EXPECT_EQ(policy->phi->threshold, 10);
  EXPECT_EQ(policy->phi->window, 50);
  EXPECT_EQ(policy->phi->min_deviation, Millis(200));
  EXPECT_EQ(policy->phi->acceptable_pause, Millis(2'000));
  EXPECT_EQ(to_string(*policy), "1s,phi=10,window=50,min-deviation=200ms,pause=2s");
  EXPECT_EQ(to_string(*parse_heartbeat("1s,phi=8.5")), "1s,phi=8.5");
}

TEST(ParseHeartbeat, RejectsWhatCannotWork) {
  const char* bad[] = {"",
                       "0s",
                       "-1s",
                       "1s,timeout=1s",
                       "1s,timeout=500ms",
                       "1s,phi=0.5",
                       "1s,phi=x",
                       "1s,phi=8,timeout=3s",
                       "1s,window=10",
                       "1s,phi=8,window=1",
                       "1s,phi=8,window=2.5",
                       "1s,speed=2",
                       "1s,timeout",
                       "1s,timeout=0s",
                       "1s,phi=8,min-deviation=0s"};
  for (const char* text : bad) {
    auto policy = parse_heartbeat(text);
    ASSERT_FALSE(policy) << "'" << text << "' parsed as " << to_string(*policy);
    EXPECT_EQ(policy.error().message.find('\n'), std::string::npos);
  }
  EXPECT_NE(parse_heartbeat("1s,timeout=500ms").error().message.find("longer than the interval"),
            std::string::npos);
}

TEST(HeartbeatDetector, FixedIsSuspectAfterAnIntervalAndDeadAfterTheTimeout) {
  const HeartbeatPolicy policy = *parse_heartbeat("1s,timeout=3s");
  HeartbeatDetector detector(policy, Millis(10'000));
  EXPECT_EQ(detector.health(Millis(10'999)), PeerHealth::alive);
  EXPECT_EQ(detector.health(Millis(11'000)), PeerHealth::suspect);
  EXPECT_EQ(detector.dead_at(), Millis(13'000));
  detector.heard(Millis(12'500), /*heartbeat=*/false);
  EXPECT_EQ(detector.health(Millis(13'000)), PeerHealth::alive);
  EXPECT_EQ(detector.dead_at(), Millis(15'500));
  EXPECT_EQ(detector.health(Millis(15'500)), PeerHealth::dead);
}

TEST(HeartbeatDetector, PhiOfSteadyHeartbeatsSettlesNearTheInterval) {
  const HeartbeatPolicy policy = *parse_heartbeat("1s,phi=8");
  HeartbeatDetector detector(policy, Millis(0));
  Millis t(0);
  for (int i = 0; i < 200; ++i) {
    t += Millis(i % 2 == 0 ? 990 : 1'010);
    detector.heard(t, true);
  }
  EXPECT_NEAR(detector.mean_gap_ms(), 1'000, 1);
  EXPECT_NEAR(detector.deviation_ms(), 10, 1);
  // The deviation is below the minimum (100 ms), which rules: phi 8 is reached about
  // 5.4 deviations past the mean.
  const Millis silence = detector.dead_at() - t;
  EXPECT_GT(silence, Millis(1'450));
  EXPECT_LT(silence, Millis(1'650));
  EXPECT_LT(detector.phi(t + Millis(1'000)), 1);
  EXPECT_GE(detector.phi(detector.dead_at()), 8 - 1e-6);
  EXPECT_EQ(detector.health(detector.dead_at()), PeerHealth::dead);
  EXPECT_EQ(detector.health(detector.suspect_at() - Millis(1)), PeerHealth::alive);
}

TEST(HeartbeatDetector, PhiAdaptsToAPathWhoseHeartbeatsComeIrregularly) {
  const HeartbeatPolicy policy = *parse_heartbeat("1s,phi=8");
  HeartbeatDetector steady(policy, Millis(0));
  HeartbeatDetector jittery(policy, Millis(0));
  Millis a(0);
  Millis b(0);
  for (int i = 0; i < 100; ++i) {
    a += Millis(1'000);
    steady.heard(a, true);
    b += Millis(i % 2 == 0 ? 600 : 1'400);
    jittery.heard(b, true);
  }
  // Same mean gap; the jittery path's deviation (400 ms) moves its deadline later.
  EXPECT_GT(jittery.dead_at() - b, (steady.dead_at() - a) * 3 / 2);
}

TEST(HeartbeatDetector, DataMovesTheDeadlineButDoesNotTeachPhi) {
  const HeartbeatPolicy policy = *parse_heartbeat("1s,phi=8");
  HeartbeatDetector detector(policy, Millis(0));
  const double mean = detector.mean_gap_ms();
  for (int i = 1; i <= 1'000; ++i)
    detector.heard(Millis(i), /*heartbeat=*/false);
  EXPECT_EQ(detector.mean_gap_ms(), mean);
  EXPECT_EQ(detector.last_heard(), Millis(1'000));
}

TEST(PredictHeartbeat, FindsAHungPeerAtTheTimeoutFromItsLastBytes) {
  const HeartbeatPolicy policy = *parse_heartbeat("1s,timeout=3s");
  const Detection d = predict_heartbeat(PeerFailure::process_hung, policy, heartbeat_tick(policy));
  ASSERT_TRUE(d.detected);
  EXPECT_EQ(d.earliest, Millis(3'000));
  EXPECT_EQ(d.latest, Millis(3'000 + 375 + 62 + 1 + 50));
  EXPECT_EQ(d.cause, CloseCause::heartbeat_timeout);
  EXPECT_EQ(d.origin, Origin::last_message);
  EXPECT_EQ(d.probes, 2);
  EXPECT_TRUE(d.admits(Millis(3'100)));
}

TEST(PredictHeartbeat, LeavesAProcessExitToTheKernelAndMeetsARebootWithItsFirstPing) {
  const HeartbeatPolicy policy = *parse_heartbeat("1s");
  EXPECT_FALSE(predict_heartbeat(PeerFailure::process_exit, policy, Millis(10)).detected);
  const Detection reboot = predict_heartbeat(PeerFailure::host_rebooted, policy, Millis(10));
  ASSERT_TRUE(reboot.detected);
  EXPECT_EQ(reboot.earliest, Millis(1'000));
  EXPECT_EQ(reboot.cause, CloseCause::peer_reset);
  EXPECT_EQ(reboot.error, std::make_error_code(std::errc::connection_reset));
  EXPECT_TRUE(predict_heartbeat(PeerFailure::host_silent, policy, Millis(10)).detected);
}

// Phi adapts: gaps that alternate between one and two intervals move the bound later
// than steady gaps of the same policy do.
TEST(PredictHeartbeat, PhiLearnsFromTheGapsItWasShown) {
  const HeartbeatPolicy policy = *parse_heartbeat("500ms,phi=8");
  std::vector<Millis> steady(20, Millis(500));
  std::vector<Millis> jittery;
  for (int i = 0; i < 20; ++i)
    jittery.push_back(Millis(i % 2 == 0 ? 500 : 900));
  const Detection a = predict_heartbeat(PeerFailure::process_hung, policy, Millis(31), {}, steady);
  const Detection b = predict_heartbeat(PeerFailure::process_hung, policy, Millis(31), {}, jittery);
  // Steady: mean 0.5 s (the two first estimates of 375 and 625 ms left in the window),
  // the minimum deviation; jittery: mean 0.68 s, deviation 0.2 s.
  EXPECT_GT(a.earliest, Millis(950));
  EXPECT_LT(a.earliest, Millis(1'100));
  EXPECT_GT(b.earliest, Millis(1'650));
  EXPECT_LT(b.earliest, Millis(1'850));
  EXPECT_NE(b.explanation.find("the gaps seen: mean 0.68"), std::string::npos) << b.explanation;
}

TEST(PredictHeartbeat, PhiPredictsTheSilenceOfSettledGaps) {
  const HeartbeatPolicy policy = *parse_heartbeat("1s,phi=8,pause=1s");
  const Detection d = predict_heartbeat(PeerFailure::process_hung, policy, Millis(62));
  ASSERT_TRUE(d.detected);
  // mean 1 s + pause 1 s, plus about 5.4 minimum deviations of 100 ms.
  EXPECT_GT(d.earliest, Millis(2'450));
  EXPECT_LT(d.earliest, Millis(2'650));
}

}  // namespace
}  // namespace tcpka
