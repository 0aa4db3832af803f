#include "tcpka/policy_warnings.h"

#include <gtest/gtest.h>

namespace tcpka {
namespace {

std::vector<std::string_view> ids(const char* policy) {
  std::vector<std::string_view> found;
  for (const PolicyWarning& w : policy_warnings(*parse_policy(policy), SystemDefaults{})) {
    found.push_back(w.id);
  }
  return found;
}

std::string message(const char* policy, std::string_view id) {
  for (const PolicyWarning& w : policy_warnings(*parse_policy(policy), SystemDefaults{})) {
    if (w.id == id) return w.message;
  }
  return "";
}

using Ids = std::vector<std::string_view>;

TEST(PolicyWarnings, AWellPairedPolicyHasNone) {
  EXPECT_EQ(ids("idle=10s,intvl=5s,cnt=5,ut=auto"), Ids{});
  EXPECT_EQ(ids("idle=60s,intvl=10s,cnt=3,ut=90s"), Ids{});
}

TEST(PolicyWarnings, KeepaliveOffLeavesIdlePeersAndBusyOnesExposed) {
  EXPECT_EQ(ids("off"), (Ids{"keepalive_off", "no_user_timeout"}));
  EXPECT_EQ(message("off", "no_user_timeout"),
            "no TCP_USER_TIMEOUT: a peer that dies while data is unacknowledged is found only "
            "after tcp_retries2=15 retransmissions, 924.6s; add ut=auto");
}

TEST(PolicyWarnings, KeepaliveWithoutUserTimeout) {
  EXPECT_EQ(ids("10:5:5"), Ids{"no_user_timeout"});
}

TEST(PolicyWarnings, UserTimeoutWithoutKeepalive) {
  EXPECT_EQ(ids("off,ut=30s"), (Ids{"keepalive_off", "user_timeout_without_keepalive"}));
}

TEST(PolicyWarnings, SystemIdleIsAboveMiddleboxTimeouts) {
  EXPECT_EQ(ids("on,ut=auto"), Ids{"idle_above_middlebox"});
  EXPECT_EQ(message("on,ut=auto", "idle_above_middlebox"),
            "idle (the system's tcp_keepalive_time) 7200s is longer than middleboxes keep a "
            "silent flow (Azure load balancer 4m, AWS NLB 350s): a NAT may forget the "
            "connection before the first probe; a dead idle peer is found only after 7875s");
  EXPECT_EQ(ids("idle=300s,intvl=10s,cnt=3,ut=auto"), Ids{"idle_above_middlebox"});
  EXPECT_EQ(ids("idle=240s,intvl=10s,cnt=3,ut=auto"), Ids{});
}

TEST(PolicyWarnings, UserTimeoutLongerThanTheProbesIgnoresTheCount) {
  EXPECT_EQ(ids("10:5:5,ut=60s"), Ids{"count_ignored"});
  EXPECT_EQ(message("10:5:5,ut=60s", "count_ignored"),
            "ut=60s overrides cnt=5: an idle dead peer gets 10 probes and is found after 60s, "
            "not idle+intvl*cnt = 35s; use ut=auto to pair them");
}

TEST(PolicyWarnings, UserTimeoutShorterThanIdleAllowsOneProbe) {
  EXPECT_EQ(ids("10:5:5,ut=5s"), Ids{"single_probe"});
  EXPECT_EQ(message("10:5:5,ut=5s", "single_probe"),
            "ut=5s is not longer than idle+intvl (15s): Linux ends an idle connection after its "
            "first unanswered probe, so one lost packet kills a healthy connection; use ut=auto");
}

TEST(PolicyWarnings, FewerProbesThanAskedButMoreThanOne) {
  EXPECT_EQ(ids("10:5:5,ut=20s"), Ids{"count_ignored"});
}

}  // namespace
}  // namespace tcpka
