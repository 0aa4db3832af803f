// What `tcpka inspect` concludes from one socket's facts: detection times from its own
// settings, and each risk flag exactly when its condition holds.
#include "inspect/socket_assessment.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace tcpka::tools {
namespace {

using Timer = net::TcpSocketEntry::Timer;

net::TcpSocketEntry established(Timer timer = Timer::keepalive) {
  net::TcpSocketEntry entry;
  entry.state = TcpConnectionState::established;
  entry.timer = timer;
  TcpState tcp;
  tcp.unacked = 0;
  tcp.probes = 0;
  tcp.retransmits = 0;
  tcp.rtt = std::chrono::microseconds(1'000);
  tcp.rto = std::chrono::microseconds(201'000);
  entry.tcp = tcp;
  return entry;
}

host::SocketSettings settings(bool keepalive, Millis idle, Millis interval, int count,
                              Millis user_timeout = Millis(0)) {
  host::SocketSettings s;
  s.policy = ResolvedPolicy{keepalive, idle, interval, count, user_timeout};
  return s;
}

bool flagged(const Assessment& a, RiskFlag flag) {
  return std::find(a.flags.begin(), a.flags.end(), flag) != a.flags.end();
}

const SystemDefaults kLinux;

TEST(SocketAssessment, PredictsFromTheSocketsOwnSettings) {
  const auto a = assess(established(), settings(true, Millis(60'000), Millis(10'000), 6), kLinux,
                        std::nullopt);
  ASSERT_TRUE(a.idle && a.in_flight);
  EXPECT_EQ(a.idle->earliest, Millis(120'000));  // 60 + 6 * 10 s
  EXPECT_EQ(a.idle->cause, CloseCause::keepalive_timeout);
  EXPECT_EQ(a.in_flight->cause, CloseCause::retransmit_timeout);
  EXPECT_TRUE(a.flags.empty());
  EXPECT_EQ(a.keepalive, KeepaliveKnown::on);
}

TEST(SocketAssessment, KeepaliveOffIsNeverFoundAndFlagged) {
  const auto a =
      assess(established(Timer::none), settings(false, Millis(7'200'000), Millis(75'000), 9),
             kLinux, std::nullopt);
  ASSERT_TRUE(a.idle);
  EXPECT_FALSE(a.idle->detected);
  EXPECT_TRUE(flagged(a, RiskFlag::keepalive_off));
  EXPECT_FALSE(flagged(a, RiskFlag::beyond_middlebox)) << "no middlebox given";
}

TEST(SocketAssessment, MiddleboxFlagsAnIdleNotBelowItsTimeout) {
  const Middlebox nlb{"aws-nlb", "", Millis(350'000), "", ""};
  const auto below =
      assess(established(), settings(true, Millis(349'000), Millis(5'000), 3), kLinux, nlb);
  EXPECT_FALSE(flagged(below, RiskFlag::beyond_middlebox));
  const auto equal =
      assess(established(), settings(true, Millis(350'000), Millis(5'000), 3), kLinux, nlb);
  EXPECT_TRUE(flagged(equal, RiskFlag::beyond_middlebox));
  const auto off = assess(established(Timer::none), std::nullopt, kLinux, nlb);
  EXPECT_TRUE(flagged(off, RiskFlag::beyond_middlebox)) << "keepalive off, known from the timer";
}

TEST(SocketAssessment, WithoutSettingsOnlyTheTimerSpeaks) {
  EXPECT_EQ(assess(established(Timer::keepalive), std::nullopt, kLinux, std::nullopt).keepalive,
            KeepaliveKnown::on);
  EXPECT_EQ(assess(established(Timer::none), std::nullopt, kLinux, std::nullopt).keepalive,
            KeepaliveKnown::off);
  // A retransmission timer hides the keepalive timer: unknown, and no flag for it.
  auto retransmitting = established(Timer::retransmit);
  const auto a = assess(retransmitting, std::nullopt, kLinux, std::nullopt);
  EXPECT_EQ(a.keepalive, KeepaliveKnown::unknown);
  EXPECT_FALSE(flagged(a, RiskFlag::keepalive_off));
  EXPECT_FALSE(a.idle) << "no settings, no prediction";
}

TEST(SocketAssessment, FlagsTheKernelStatesThatPutAConnectionAtRisk) {
  auto sending = established(Timer::retransmit);
  sending.tcp->unacked = 3;
  sending.tcp->retransmits = 2;
  const auto a =
      assess(sending, settings(true, Millis(10'000), Millis(5'000), 3), kLinux, std::nullopt);
  EXPECT_TRUE(flagged(a, RiskFlag::in_flight_without_user_timeout));
  EXPECT_TRUE(flagged(a, RiskFlag::retransmitting));
  const auto bounded =
      assess(sending, settings(true, Millis(10'000), Millis(5'000), 3, Millis(25'000)), kLinux,
             std::nullopt);
  EXPECT_FALSE(flagged(bounded, RiskFlag::in_flight_without_user_timeout));

  auto probing = established(Timer::keepalive);
  probing.tcp->probes = 1;
  EXPECT_TRUE(flagged(assess(probing, std::nullopt, kLinux, std::nullopt), RiskFlag::probing));
  EXPECT_TRUE(
      flagged(assess(established(Timer::zero_window_probe), std::nullopt, kLinux, std::nullopt),
              RiskFlag::peer_window_shut));
}

TEST(SocketAssessment, OnlyEstablishedConnectionsArePredictedAndFlagged) {
  auto listening = established(Timer::none);
  listening.state = TcpConnectionState::listen;
  const auto a =
      assess(listening, settings(false, Millis(1'000), Millis(1'000), 1), kLinux, std::nullopt);
  EXPECT_FALSE(a.idle);
  EXPECT_TRUE(a.flags.empty());
}

TEST(SocketAssessment, EveryFlagHasANameAndAnExplanation) {
  for (const RiskFlag flag : kRiskFlags) {
    EXPECT_FALSE(to_string(flag).empty());
    EXPECT_GT(explain(flag).size(), 40u) << to_string(flag);
  }
}

}  // namespace
}  // namespace tcpka::tools
