// The model and the limits of Windows and macOS: data about those platforms, checked
// here on any platform (and, for Windows, again as a Windows program under Wine).
#include <gtest/gtest.h>

#include "tcpka/detection_model.h"
#include "tcpka/policy.h"
#include "tcpka/system_defaults.h"

namespace tcpka {
namespace {

ResolvedPolicy keepalive(int idle_s, int interval_s, int count, Millis user_timeout = Millis(0)) {
  return {true, Millis(idle_s * 1'000), Millis(interval_s * 1'000), count, user_timeout};
}

const PathFacts kLoopback{Millis(1), Millis(300)};

TEST(PlatformModel, WindowsDocumentsTwoHoursOneSecondAndTenProbes) {
  const SystemDefaults windows = documented_defaults(TcpStack::windows);
  EXPECT_EQ(windows.stack, TcpStack::windows);
  EXPECT_EQ(windows.keepalive_time, Millis(7'200'000));
  EXPECT_EQ(windows.keepalive_interval, Millis(1'000));
  EXPECT_EQ(windows.keepalive_probes, 10);
  // Windows' stock policy finds an idle dead peer after 2 h + 10 * 1 s.
  const Detection d = predict(PeerFailure::host_silent, Activity::idle,
                              keepalive(7'200, 1, windows.keepalive_probes), windows);
  EXPECT_EQ(d.earliest, Millis(7'210'000));
  EXPECT_EQ(d.probes, 10);
}

TEST(PlatformModel, OnlyLinuxLetsTheUserTimeoutEndKeepalive) {
  const ResolvedPolicy policy = keepalive(2, 1, 10, Millis(5'000));
  const Detection on_linux = predict(PeerFailure::host_silent, Activity::idle, policy,
                                     documented_defaults(TcpStack::linux_kernel));
  EXPECT_LT(on_linux.earliest, Millis(7'000)) << on_linux.explanation;
  for (TcpStack stack : {TcpStack::windows, TcpStack::darwin}) {
    const Detection d =
        predict(PeerFailure::host_silent, Activity::idle, policy, documented_defaults(stack));
    EXPECT_EQ(d.earliest, Millis(12'000)) << d.explanation;
    EXPECT_EQ(d.probes, 10);
    EXPECT_NE(d.explanation.find("bounds retransmissions only"), std::string::npos)
        << d.explanation;
  }
}

TEST(PlatformModel, WindowsCountsRetransmissionsInsteadOfTime) {
  const SystemDefaults windows = documented_defaults(TcpStack::windows);
  const Detection d =
      predict(PeerFailure::host_silent, Activity::sending, keepalive(10, 5, 5), windows, kLoopback);
  ASSERT_TRUE(d.detected);
  EXPECT_EQ(d.retransmissions, windows.retries2) << d.explanation;
  EXPECT_NE(d.explanation.find("5 retransmissions"), std::string::npos) << d.explanation;
  // A 300 ms RTO doubling five times: the fifth retransmission's timeout ends at
  // 0.6 + 1.2 + 2.4 + 4.8 + 9.6 s = 18.6 s after the first, well before Linux's 15-retry
  // bound of over 900 s.
  EXPECT_LT(d.earliest, Millis(60'000));

  const Detection bounded = predict(PeerFailure::host_silent, Activity::sending,
                                    keepalive(10, 5, 5, Millis(4'000)), windows, kLoopback);
  EXPECT_NE(bounded.explanation.find("TCP_MAXRT ends it"), std::string::npos)
      << bounded.explanation;
  EXPECT_LT(bounded.earliest, d.earliest);
}

TEST(PlatformModel, PoliciesAreCheckedAgainstThePlatformsOwnLimits) {
  auto too_many = parse_policy("idle=10s,intvl=5s,cnt=200", kLinuxLimits);
  ASSERT_FALSE(too_many.ok());
  EXPECT_TRUE(parse_policy("idle=10s,intvl=5s,cnt=200", kWindowsLimits).ok());
  auto over = parse_policy("cnt=256", kWindowsLimits);
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.error().message.find("TCP_KEEPCNT accepts 1..255"), std::string::npos);

  // TCP_MAXRT and TCP_RXT_CONNDROPTIME take seconds; TCP_USER_TIMEOUT milliseconds.
  EXPECT_TRUE(parse_policy("ut=1500ms", kLinuxLimits).ok());
  for (const PolicyLimits* limits : {&kWindowsLimits, &kDarwinLimits}) {
    auto fraction = parse_policy("ut=1500ms", *limits);
    ASSERT_FALSE(fraction.ok()) << limits->platform;
    EXPECT_NE(fraction.error().message.find(std::string(limits->user_timeout_option) +
                                            " in whole multiples of 1s"),
              std::string::npos)
        << fraction.error().message;
  }
  // macOS calls idle TCP_KEEPALIVE.
  auto idle = parse_policy("idle=0s", kDarwinLimits);
  ASSERT_FALSE(idle.ok());
  EXPECT_NE(idle.error().message.find("TCP_KEEPALIVE accepts"), std::string::npos)
      << idle.error().message;
}

}  // namespace
}  // namespace tcpka
