#include <gtest/gtest.h>

#include "tcpka/policy.h"

namespace tcpka {
namespace {

// These tests check Linux's limits, whatever the platform running them.
Policy parsed(const char* text) {
  auto policy = parse_policy(text, kLinuxLimits);
  EXPECT_TRUE(policy.ok()) << text << ": " << (policy.ok() ? "" : policy.error().message);
  return policy.ok() ? *policy : Policy{};
}

std::string rejection(const char* text) {
  auto policy = parse_policy(text, kLinuxLimits);
  EXPECT_FALSE(policy.ok()) << text << " was accepted";
  return policy.ok() ? "" : policy.error().message;
}

Policy keepalive(Millis idle, Millis interval, int count, UserTimeout ut = {}) {
  return Policy{true, idle, interval, count, ut};
}

TEST(ParsePolicy, KeyValueForm) {
  EXPECT_EQ(parsed("idle=10s,intvl=5s,cnt=5,ut=auto"),
            keepalive(Millis(10'000), Millis(5'000), 5, UserTimeout::automatic()));
  EXPECT_EQ(parsed("idle=30m"), (Policy{true, Millis(1'800'000), {}, {}, {}}));
}

TEST(ParsePolicy, KeyAliasesAndSpaces) {
  EXPECT_EQ(parsed(" idle = 10s , interval=5s, count=5, user_timeout=35s "),
            keepalive(Millis(10'000), Millis(5'000), 5, UserTimeout::fixed(Millis(35'000))));
}

TEST(ParsePolicy, BareNumbersAreSeconds) {
  EXPECT_EQ(parsed("idle=10,intvl=5,cnt=5"), keepalive(Millis(10'000), Millis(5'000), 5));
}

TEST(ParsePolicy, NginxForm) {
  EXPECT_EQ(parsed("10:5:5"), keepalive(Millis(10'000), Millis(5'000), 5));
  EXPECT_EQ(parsed("30m::10"), (Policy{true, Millis(1'800'000), {}, 10, {}}));
  EXPECT_EQ(parsed(":5:"), (Policy{true, {}, Millis(5'000), {}, {}}));
  // so_keepalive turns keepalive on, whatever it leaves to the system.
  EXPECT_EQ(parsed("::"), (Policy{true, {}, {}, {}, {}}));
}

TEST(ParsePolicy, NginxFormWithUserTimeout) {
  EXPECT_EQ(parsed("10:5:5,ut=auto"),
            keepalive(Millis(10'000), Millis(5'000), 5, UserTimeout::automatic()));
}

TEST(ParsePolicy, OnAndOff) {
  EXPECT_EQ(parsed("on"), (Policy{true, {}, {}, {}, {}}));
  EXPECT_EQ(parsed("off"), (Policy{false, {}, {}, {}, {}}));
  EXPECT_EQ(parsed("off,ut=30s"), (Policy{false, {}, {}, {}, UserTimeout::fixed(Millis(30'000))}));
}

TEST(ParsePolicy, AUserTimeoutAloneLeavesKeepaliveAlone) {
  EXPECT_EQ(parsed("ut=30s"), (Policy{{}, {}, {}, {}, UserTimeout::fixed(Millis(30'000))}));
  EXPECT_EQ(parsed("idle=10s").keepalive, true);
}

TEST(ParsePolicy, UserTimeoutForms) {
  EXPECT_EQ(parsed("ut=auto").user_timeout, UserTimeout::automatic());
  EXPECT_EQ(parsed("ut=off").user_timeout, UserTimeout::off());
  EXPECT_EQ(parsed("ut=0").user_timeout, UserTimeout::off());
  EXPECT_EQ(parsed("ut=0s").user_timeout, UserTimeout::off());
  EXPECT_EQ(parsed("ut=1500ms").user_timeout, UserTimeout::fixed(Millis(1'500)));
}

TEST(ParsePolicy, SyntaxRejections) {
  EXPECT_EQ(rejection(""),
            "the policy is empty: write e.g. idle=10s,intvl=5s,cnt=5,ut=auto, 10:5:5, on or off");
  EXPECT_EQ(rejection("idle=10s,,cnt=5"), "empty item in 'idle=10s,,cnt=5'");
  EXPECT_EQ(rejection("idel=10s"), "unknown key 'idel' in 'idel=10s' (keys: idle, intvl, cnt, ut)");
  EXPECT_EQ(rejection("fast"),
            "unknown item 'fast': expected key=value (idle, intvl, cnt, ut), idle:intvl:cnt, on or "
            "off");
  EXPECT_EQ(rejection("10:5"),
            "'10:5' is not nginx's idle:intvl:cnt form (it needs exactly two colons)");
  EXPECT_EQ(rejection("idle=10s,idle=20s"), "idle given twice");
  EXPECT_EQ(rejection("10:5:5,cnt=3"), "cnt given twice");
  EXPECT_EQ(rejection("ut=auto,ut=5s"), "ut given twice");
  EXPECT_EQ(rejection("on,off"), "'on' or 'off' given twice (second: 'off')");
  EXPECT_EQ(rejection("off,idle=10s"),
            "'off' turns keepalive off, so idle, intvl and cnt cannot be given with it");
  EXPECT_EQ(rejection("off,::"),
            "'off' turns keepalive off, so idle, intvl and cnt cannot be given with it");
  EXPECT_EQ(rejection("off,ut=auto"),
            "ut=auto pairs the user timeout with keepalive's timings; with keepalive off, give ut "
            "a duration");
  EXPECT_EQ(rejection("cnt=five"), "cnt=five: expected a whole number of probes");
  EXPECT_EQ(rejection("cnt=5s"), "cnt=5s: expected a whole number of probes");
  EXPECT_EQ(rejection("idle=ten"),
            "idle: 'ten' is not a duration: expected a number such as 10s, 1.5s, 250ms, 5m or 2h");
  EXPECT_EQ(rejection("ut=30000"), "ut: '30000' is not a duration: give a unit (ms, s, m or h)");
}

TEST(ParsePolicy, RangeRejectionsNameFieldValueAndRange) {
  EXPECT_EQ(rejection("idle=0"), "idle=0s is out of range: TCP_KEEPIDLE accepts 1s..32767s");
  EXPECT_EQ(rejection("idle=32768"),
            "idle=32768s is out of range: TCP_KEEPIDLE accepts 1s..32767s");
  EXPECT_EQ(rejection("intvl=10h"), "intvl=10h is out of range: TCP_KEEPINTVL accepts 1s..32767s");
  EXPECT_EQ(rejection("cnt=0"), "cnt=0 is out of range: TCP_KEEPCNT accepts 1..127");
  EXPECT_EQ(rejection("cnt=128"), "cnt=128 is out of range: TCP_KEEPCNT accepts 1..127");
  EXPECT_EQ(rejection("ut=25d"),
            "ut: '25d' is not a duration: unknown unit 'd' (use ms, s, m or h)");
  EXPECT_EQ(rejection("ut=600h"),
            "ut=600h is out of range: TCP_USER_TIMEOUT accepts 0..2147483647ms");
  EXPECT_EQ(rejection("idle=32767s,intvl=32767s,cnt=127,ut=auto"),
            "ut=auto is idle+intvl*cnt = 4194176s, above TCP_USER_TIMEOUT's maximum 2147483647ms");
}

TEST(ParsePolicy, SubSecondTimingsAreErrorsOnLinux) {
  EXPECT_EQ(rejection("idle=1500ms"),
            "idle=1500ms: Linux sets TCP_KEEPIDLE in whole seconds (try 1s or 2s)");
  EXPECT_EQ(rejection("intvl=2.5s"),
            "intvl=2500ms: Linux sets TCP_KEEPINTVL in whole seconds (try 2s or 3s)");
  EXPECT_EQ(rejection("idle=500ms"), "idle=500ms is out of range: TCP_KEEPIDLE accepts 1s..32767s");
  // The user timeout is in milliseconds on Linux: no rounding question.
  EXPECT_TRUE(parse_policy("ut=1500ms", kLinuxLimits).ok());
}

// Found by fuzz/policy_fuzzer: the refusal quoted the text as it came, newline and all,
// and a tool's one-line error became two.
TEST(ParsePolicy, ARefusalIsOneLineWhateverTheTextHolds) {
  EXPECT_EQ(rejection("\nTCPKA_SCOPE=10:5:5"),
            "unknown key '\\nTCPKA_SCOPE' in '\\nTCPKA_SCOPE=10:5:5' (keys: idle, intvl, cnt, ut)");
  EXPECT_EQ(rejection("idle=1\r\x01s"),
            "idle: '1\\r\\x01s' is not a duration: unknown unit '\\r\\x01s' (use ms, s, m or h)");
  EXPECT_EQ(rejection("cnt=5\x01"), "cnt=5\\x01: expected a whole number of probes");
}

TEST(ParseUserTimeout, ReadsAUserTimeoutAndNothingElse) {
  EXPECT_EQ(parse_user_timeout("auto").value(), UserTimeout::automatic());
  EXPECT_EQ(parse_user_timeout("off").value(), UserTimeout::off());
  EXPECT_EQ(parse_user_timeout("0").value(), UserTimeout::off());
  EXPECT_EQ(parse_user_timeout("1m30s").value(), UserTimeout::fixed(Millis(90'000)));
  // What "ut=" + text used to let through, the rest of it silently dropped.
  for (const char* text : {"30s,off", "auto,idle=5s", "30s,ut=1s", "10:5:5"}) {
    EXPECT_FALSE(parse_user_timeout(text).ok()) << text;
  }
  EXPECT_EQ(parse_user_timeout("30000").error().message,
            "'30000' is not a duration: give a unit (ms, s, m or h)");
}

}  // namespace
}  // namespace tcpka
