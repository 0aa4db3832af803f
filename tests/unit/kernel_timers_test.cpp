// The kernel's give-up timers against values computed by hand from net/ipv4/tcp_timer.c.
#include "kernel_timers.h"

#include <gtest/gtest.h>

namespace tcpka::detail {
namespace {

TEST(ModelTimeout, RetriesTwoFifteenIs924Point6Seconds) {
  // 200 ms doubling 9 times (204.6 s), then 6 more at the 120 s cap.
  EXPECT_EQ(model_timeout(15, Millis(200), Millis(120'000)), Millis(924'600));
}

TEST(ModelTimeout, BelowTheCapIsAGeometricSum) {
  EXPECT_EQ(model_timeout(5, Millis(200), Millis(120'000)), Millis(12'600));
  EXPECT_EQ(model_timeout(3, Millis(200), Millis(120'000)), Millis(3'000));
  EXPECT_EQ(model_timeout(0, Millis(200), Millis(120'000)), Millis(200));
}

TEST(ModelTimeout, SynRetriesSixFromOneSecondIs127Seconds) {
  EXPECT_EQ(model_timeout(6, Millis(1'000), Millis(120'000)), Millis(127'000));
}

TEST(ModelTimeout, FollowsALowerRtoMax) {
  // tcp_rto_max_ms=10000: threshold ilog2(50) = 5, 63 * 200 ms + 10 * 10 s.
  EXPECT_EQ(model_timeout(15, Millis(200), Millis(10'000)), Millis(112'600));
}

RetransmissionRules data(Millis first, Millis rto, Millis bound, bool user_timeout = false) {
  RetransmissionRules rules;
  rules.first_retransmission = first;
  rules.rto = rto;
  rules.time_bound = bound;
  rules.time_bound_is_user_timeout = user_timeout;
  return rules;
}

TEST(RetransmissionExpiry, CountsTheBoundFromTheFirstRetransmission) {
  // Measured on Linux 6.18 with tcp_retries2=5: the tail-loss probe at 0.204 s, the first
  // retransmission at 0.408 s, then 0.408 s doubling; the fire at 0.408 + 12.648 s is the
  // first one 12.6 s or more after the first retransmission.
  const Expiry expiry = retransmission_expiry(data(Millis(408), Millis(204), Millis(12'600)));
  EXPECT_EQ(expiry.at, Millis(408 + 12'648));
  EXPECT_EQ(expiry.attempts, 5);
}

TEST(RetransmissionExpiry, ALittleLessRtoCostsOneMoreRound) {
  // With a 201 ms RTO the fifth retransmission comes 12.462 s after the first, short of
  // 12.6 s: the kernel waits one more doubled timeout.
  const Expiry expiry = retransmission_expiry(data(Millis(402), Millis(201), Millis(12'600)));
  EXPECT_EQ(expiry.at, Millis(402 + 402 * 63));
  EXPECT_EQ(expiry.attempts, 6);
}

TEST(RetransmissionExpiry, RetriesTwoFifteenAtTheDefaultPace) {
  // 0.408 s doubling to 208.5 s, then 120 s steps: 928.488 s after the first retransmission.
  const Expiry expiry = retransmission_expiry(data(Millis(408), Millis(204), Millis(924'600)));
  EXPECT_EQ(expiry.at, Millis(408 + 408 * 511 + 6 * 120'000));
  EXPECT_EQ(expiry.attempts, 15);
}

TEST(RetransmissionExpiry, UserTimeoutEndsExactlyAfterTheFirstRetransmission) {
  // Measured: ut=1500ms, first retransmission at 0.408 s, death at 1.91 s.
  const Expiry expiry = retransmission_expiry(data(Millis(408), Millis(204), Millis(1'500), true));
  EXPECT_EQ(expiry.at, Millis(1'908));
  EXPECT_EQ(expiry.attempts, 3);
}

TEST(RetransmissionExpiry, UserTimeoutShorterThanAnRtoStillRetransmitsOnce) {
  const Expiry expiry = retransmission_expiry(data(Millis(400), Millis(200), Millis(100), true));
  EXPECT_EQ(expiry.at, Millis(500));
  EXPECT_EQ(expiry.attempts, 1);
}

TEST(RetransmissionExpiry, LongUserTimeoutsAreFastForwarded) {
  // 24 days of 120 s retransmissions, computed without replaying each one.
  const Millis day(86'400'000);
  const Expiry expiry =
      retransmission_expiry(data(Millis(400), Millis(200), Millis(24 * day), true));
  EXPECT_EQ(expiry.at, Millis(400) + 24 * day);
}

RetransmissionRules syn(int syn_retries, int linear, Millis user_timeout = Millis(0)) {
  RetransmissionRules rules;
  rules.first_retransmission = Millis(1'000);
  rules.bound_counts_from_first_retransmission = false;
  rules.rto = Millis(1'000);
  rules.linear_rounds = linear;
  rules.max_retransmissions = syn_retries + linear;
  rules.time_bound = user_timeout.count() > 0
                         ? user_timeout
                         : model_timeout(syn_retries, Millis(1'000), Millis(120'000));
  rules.time_bound_is_user_timeout = user_timeout.count() > 0;
  return rules;
}

TEST(SynExpiry, SixRetriesWithoutLinearRoundsTake127Seconds) {
  const Expiry expiry = retransmission_expiry(syn(6, 0));
  EXPECT_EQ(expiry.at, Millis(127'000));
  EXPECT_EQ(expiry.attempts, 6);
}

TEST(SynExpiry, FourLinearRoundsMakeIt131Seconds) {
  // 1, 1, 1, 1, 1, then 2, 4, 8, 16, 32, 64 (Documentation/networking/ip-sysctl.rst).
  const Expiry expiry = retransmission_expiry(syn(6, 4));
  EXPECT_EQ(expiry.at, Millis(131'000));
  EXPECT_EQ(expiry.attempts, 10);
}

TEST(SynExpiry, UserTimeoutCutsItShort) {
  const Expiry expiry = retransmission_expiry(syn(6, 4, Millis(2'500)));
  EXPECT_EQ(expiry.at, Millis(2'500));
  EXPECT_EQ(expiry.attempts, 2);
}

TEST(SynExpiry, TheCountStillRulesUnderALongUserTimeout) {
  const Expiry expiry = retransmission_expiry(syn(6, 4, Millis(300'000)));
  EXPECT_EQ(expiry.at, Millis(131'000));
}

TEST(WindowProbeExpiry, SilentPeerGetsRetriesTwoProbes) {
  // Measured with tcp_retries2=5: probes at 0.2, 0.6, 1.4, 3.0, 6.2 s; death 12.6 s.
  WindowProbeRules rules;
  rules.first_timeout = Millis(200);
  rules.max_unanswered = 5;
  const auto expiry = window_probe_expiry(rules);
  ASSERT_TRUE(expiry.has_value());
  EXPECT_EQ(expiry->at, Millis(200 * 63));
  EXPECT_EQ(expiry->attempts, 5);
}

TEST(WindowProbeExpiry, FifteenProbesTake924Point6Seconds) {
  WindowProbeRules rules;
  rules.first_timeout = Millis(200);
  rules.max_unanswered = 15;
  EXPECT_EQ(window_probe_expiry(rules)->at, Millis(924'600));
}

TEST(WindowProbeExpiry, UserTimeoutCountsFromTheFirstProbe) {
  // Measured: ut=3000ms, death 3.2 s after the window shut, answered or not.
  WindowProbeRules rules;
  rules.first_timeout = Millis(204);
  rules.user_timeout = Millis(3'000);
  EXPECT_EQ(window_probe_expiry(rules)->at, Millis(3'204));
  rules.peer_answers = true;
  EXPECT_EQ(window_probe_expiry(rules)->at, Millis(3'204));
}

TEST(WindowProbeExpiry, ALivePeerWithoutUserTimeoutIsProbedForever) {
  WindowProbeRules rules;
  rules.peer_answers = true;
  EXPECT_FALSE(window_probe_expiry(rules).has_value());
}

TEST(KeepaliveExpiry, CountProbesAfterIdle) {
  // The seed's experiment: 10 s, then 5 probes 5 s apart: read() returns at 35 s.
  const Expiry expiry = keepalive_expiry({Millis(10'000), Millis(5'000), 5, Millis(0)});
  EXPECT_EQ(expiry.at, Millis(35'000));
  EXPECT_EQ(expiry.attempts, 5);
}

TEST(KeepaliveExpiry, LinuxDefaultsTake7875Seconds) {
  EXPECT_EQ(keepalive_expiry({}).at, Millis(7'875'000));
}

TEST(KeepaliveExpiry, UserTimeoutReplacesTheCount) {
  // ut=60s: the first timer run at or after 60 s, the 10th probe interval.
  EXPECT_EQ(keepalive_expiry({Millis(10'000), Millis(5'000), 5, Millis(60'000)}).at,
            Millis(60'000));
  EXPECT_EQ(keepalive_expiry({Millis(10'000), Millis(5'000), 5, Millis(60'000)}).attempts, 10);
  // Not on a probe boundary: the next one, 62 -> 65 s.
  EXPECT_EQ(keepalive_expiry({Millis(10'000), Millis(5'000), 5, Millis(62'000)}).at,
            Millis(65'000));
  // ut=auto gives the count back.
  EXPECT_EQ(keepalive_expiry({Millis(10'000), Millis(5'000), 5, Millis(35'000)}).attempts, 5);
}

TEST(KeepaliveExpiry, UserTimeoutBelowIdleStillWaitsForOneUnansweredProbe) {
  const Expiry expiry = keepalive_expiry({Millis(10'000), Millis(5'000), 5, Millis(2'000)});
  EXPECT_EQ(expiry.at, Millis(15'000));
  EXPECT_EQ(expiry.attempts, 1);
}

}  // namespace
}  // namespace tcpka::detail
