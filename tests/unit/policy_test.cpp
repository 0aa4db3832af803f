#include "tcpka/policy.h"

#include <gtest/gtest.h>

namespace tcpka {
namespace {

TEST(PolicyText, IsCanonical) {
  EXPECT_EQ(to_string(Policy{}), "");
  EXPECT_EQ(to_string(Policy{true, {}, {}, {}, {}}), "on");
  EXPECT_EQ(to_string(Policy{false, {}, {}, {}, {}}), "off");
  EXPECT_EQ(to_string(Policy{true, Millis(10'000), Millis(5'000), 5, UserTimeout::automatic()}),
            "idle=10s,intvl=5s,cnt=5,ut=auto");
  EXPECT_EQ(to_string(Policy{true, Millis(1'800'000), {}, 10, {}}), "idle=30m,cnt=10");
  EXPECT_EQ(to_string(Policy{false, {}, {}, {}, UserTimeout::fixed(Millis(1'500))}),
            "off,ut=1500ms");
  EXPECT_EQ(to_string(Policy{{}, {}, {}, {}, UserTimeout::off()}), "ut=off");
  EXPECT_EQ(to_string(Policy{{}, {}, {}, {}, UserTimeout::fixed(Millis(30'000))}), "ut=30s");
}

TEST(PolicyText, RoundTrips) {
  for (const char* text :
       {"on", "off", "idle=10s,intvl=5s,cnt=5,ut=auto", "idle=30m,cnt=10", "off,ut=30s",
        "intvl=75s", "ut=off", "idle=2h,ut=1500ms", "ut=30s", "on,ut=auto"}) {
    auto policy = parse_policy(text, kLinuxLimits);
    ASSERT_TRUE(policy.ok()) << text;
    EXPECT_EQ(to_string(*policy), text);
    EXPECT_EQ(*parse_policy(to_string(*policy), kLinuxLimits), *policy);
  }
}

TEST(ValidatePolicy, UsesTheGivenLimits) {
  PolicyLimits strict = kLinuxLimits;
  strict.max_count = 10;
  strict.platform = "Strict";
  Policy policy;
  policy.count = 11;
  auto checked = validate_policy(policy, strict);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().message, "cnt=11 is out of range: TCP_KEEPCNT accepts 1..10");
}

TEST(ValidatePolicy, GranularityFollowsThePlatform) {
  PolicyLimits milliseconds = kLinuxLimits;
  milliseconds.platform = "Windows";
  milliseconds.timing_granularity = Millis(1);
  milliseconds.min_idle = Millis(1);
  Policy policy;
  policy.idle = Millis(1'500);
  EXPECT_TRUE(validate_policy(policy, milliseconds).ok());

  PolicyLimits tenths = kLinuxLimits;
  tenths.timing_granularity = Millis(100);
  policy.idle = Millis(1'550);
  auto checked = validate_policy(policy, tenths);
  ASSERT_FALSE(checked.ok());
  EXPECT_EQ(checked.error().message,
            "idle=1550ms: Linux sets TCP_KEEPIDLE in whole multiples of 100ms (try 1500ms or "
            "1600ms)");
}

TEST(Resolve, FillsEmptyFieldsFromTheSystem) {
  SystemDefaults system;  // 7200 s, 75 s, 9
  auto resolved = resolve(*parse_policy("cnt=3"), system);
  ASSERT_TRUE(resolved.ok());
  EXPECT_EQ(*resolved, (ResolvedPolicy{true, Millis(7'200'000), Millis(75'000), 3, Millis(0)}));
}

TEST(Resolve, AutomaticUserTimeoutIsIdlePlusIntervalTimesCount) {
  SystemDefaults system;
  EXPECT_EQ(resolve(*parse_policy("10:5:5,ut=auto"), system)->user_timeout, Millis(35'000));
  // With the system's timings: 7200 + 75 * 9 = 7875 s.
  EXPECT_EQ(resolve(*parse_policy("ut=auto"), system)->user_timeout, Millis(7'875'000));
  EXPECT_EQ(resolve(*parse_policy("idle=60,ut=auto"), system)->user_timeout, Millis(735'000));
}

TEST(UserTimeout, ZeroIsOff) {
  EXPECT_EQ(UserTimeout::fixed(Millis(0)), UserTimeout::off());
  EXPECT_EQ(UserTimeout::fixed(Millis(0)).mode, UserTimeout::Mode::off);
  // The value of a mode without one does not matter.
  EXPECT_EQ((UserTimeout{UserTimeout::Mode::automatic, Millis(5)}), UserTimeout::automatic());
}

TEST(Resolve, KeepaliveLeftAloneIsOffOnANewSocket) {
  EXPECT_FALSE(resolve(*parse_policy("ut=30s"), SystemDefaults{})->keepalive);
}

TEST(Resolve, RefusesWhatValidationRefuses) {
  Policy bad;
  bad.count = 0;
  EXPECT_FALSE(resolve(bad, SystemDefaults{}).ok());
}

TEST(Resolve, OffAndUnsetUserTimeoutsAreZero) {
  SystemDefaults system;
  EXPECT_EQ(resolve(*parse_policy("ut=off"), system)->user_timeout, Millis(0));
  EXPECT_EQ(resolve(*parse_policy("on"), system)->user_timeout, Millis(0));
  EXPECT_FALSE(resolve(*parse_policy("off"), system)->keepalive);
}

TEST(Resolve, RejectsAnAutomaticUserTimeoutAboveTheMaximum) {
  SystemDefaults system;
  system.keepalive_probes = 127;
  system.keepalive_interval = Millis(32'767'000);
  auto resolved = resolve(*parse_policy("ut=auto"), system, kLinuxLimits);
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.error().message,
            "ut=auto is idle+intvl*cnt = 4168609s, above TCP_USER_TIMEOUT's maximum "
            "2147483647ms");
}

TEST(ResolvedPolicyText, ShowsEveryField) {
  EXPECT_EQ(to_string(ResolvedPolicy{true, Millis(10'000), Millis(5'000), 5, Millis(35'000)}),
            "idle=10s,intvl=5s,cnt=5,ut=35s");
  EXPECT_EQ(to_string(ResolvedPolicy{false, Millis(10'000), Millis(5'000), 5, Millis(0)}),
            "off,ut=off");
}

}  // namespace
}  // namespace tcpka
