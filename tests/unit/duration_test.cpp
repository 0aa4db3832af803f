#include "tcpka/duration.h"

#include <gtest/gtest.h>

namespace tcpka {
namespace {

TEST(ParseDuration, ReadsEveryUnit) {
  EXPECT_EQ(*parse_duration("250ms"), Millis(250));
  EXPECT_EQ(*parse_duration("10s"), Millis(10'000));
  EXPECT_EQ(*parse_duration("5m"), Millis(300'000));
  EXPECT_EQ(*parse_duration("2h"), Millis(7'200'000));
}

TEST(ParseDuration, AddsUpCompoundForms) {
  EXPECT_EQ(*parse_duration("1m30s"), Millis(90'000));
  EXPECT_EQ(*parse_duration("2h11m15s"), Millis(7'875'000));
  EXPECT_EQ(*parse_duration("1s500ms"), Millis(1'500));
}

TEST(ParseDuration, ReadsExactFractions) {
  EXPECT_EQ(*parse_duration("1.5s"), Millis(1'500));
  EXPECT_EQ(*parse_duration("0.25s"), Millis(250));
  EXPECT_EQ(*parse_duration("1.5m"), Millis(90'000));
  EXPECT_EQ(*parse_duration(".5s"), Millis(500));
  EXPECT_EQ(*parse_duration("1.50000000000000000000s"), Millis(1'500));
}

TEST(ParseDuration, BareNumbersAreSecondsUnlessRejected) {
  EXPECT_EQ(*parse_duration("75"), Millis(75'000));
  EXPECT_EQ(*parse_duration("0"), Millis(0));
  auto rejected = parse_duration("30000", BareNumber::rejected);
  ASSERT_FALSE(rejected.ok());
  EXPECT_EQ(rejected.error().message, "'30000' is not a duration: give a unit (ms, s, m or h)");
}

TEST(ParseDuration, RejectsWithAReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "'' is not a duration: it is empty"},
      {"-5s", "'-5s' is not a duration: it is negative"},
      {"abc", "'abc' is not a duration: expected a number such as 10s, 1.5s, 250ms, 5m or 2h"},
      {"10x", "'10x' is not a duration: unknown unit 'x' (use ms, s, m or h)"},
      {"1m30", "'1m30' is not a duration: give a unit (ms, s, m or h)"},
      {"1.0005s", "'1.0005s' is not a duration: it is too large or finer than a millisecond"},
      {"0.5ms", "'0.5ms' is not a duration: it is too large or finer than a millisecond"},
      {"99999999999999h",
       "'99999999999999h' is not a duration: it is too large or finer than a millisecond"},
      {"1.9999999999999h",
       "'1.9999999999999h' is not a duration: it is too large or finer than a millisecond"},
      // Control characters are escaped: a message stays one line (fuzz/duration_fuzzer).
      {"5\ns", "'5\\ns' is not a duration: unknown unit '\\ns' (use ms, s, m or h)"},
  };
  for (const auto& [text, message] : cases) {
    auto parsed = parse_duration(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.error().message, message);
    EXPECT_EQ(parsed.error().code, std::errc::invalid_argument);
  }
}

TEST(FormatDuration, ChoosesTheLargestExactUnit) {
  EXPECT_EQ(format_duration(Millis(7'200'000)), "2h");
  EXPECT_EQ(format_duration(Millis(1'800'000)), "30m");
  EXPECT_EQ(format_duration(Millis(75'000)), "75s");
  EXPECT_EQ(format_duration(Millis(7'875'000)), "7875s");
  EXPECT_EQ(format_duration(Millis(1'500)), "1500ms");
  EXPECT_EQ(format_duration(Millis(0)), "0s");
}

TEST(FormatDuration, RoundTripsThroughTheParser) {
  for (std::int64_t ms : {0, 1, 999, 1'000, 1'001, 60'000, 61'000, 3'600'000, 86'400'000}) {
    EXPECT_EQ(*parse_duration(format_duration(Millis(ms))), Millis(ms)) << ms;
  }
}

TEST(FormatSeconds, ShowsUpToThreeDecimals) {
  EXPECT_EQ(format_seconds(Millis(924'600)), "924.6s");
  EXPECT_EQ(format_seconds(Millis(35'000)), "35s");
  EXPECT_EQ(format_seconds(Millis(4)), "0.004s");
  EXPECT_EQ(format_seconds(Millis(1'250)), "1.25s");
  EXPECT_EQ(format_seconds(Millis(-1'500)), "-1.5s");
}

}  // namespace
}  // namespace tcpka
