#include "tcpka/middleboxes.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <set>
#include <string>

namespace tcpka {
namespace {

TEST(KnownMiddleboxes, NamesAreUniqueLowerCaseAndSorted) {
  std::set<std::string_view> seen;
  std::string_view previous;
  for (const Middlebox& middlebox : known_middleboxes()) {
    EXPECT_FALSE(middlebox.name.empty());
    for (const char c : middlebox.name) {
      EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') << middlebox.name;
    }
    EXPECT_TRUE(seen.insert(middlebox.name).second) << middlebox.name << " twice";
    EXPECT_LT(previous, middlebox.name);
    previous = middlebox.name;
  }
  EXPECT_FALSE(seen.contains("custom"));  // the name find_middlebox gives a duration
}

TEST(KnownMiddleboxes, EveryEntryHasASourceAndAPositiveTimeout) {
  ASSERT_FALSE(known_middleboxes().empty());
  for (const Middlebox& middlebox : known_middleboxes()) {
    EXPECT_GT(middlebox.idle_timeout, Millis(0)) << middlebox.name;
    EXPECT_TRUE(middlebox.source.starts_with("https://")) << middlebox.name;
    EXPECT_FALSE(middlebox.description.empty()) << middlebox.name;
    EXPECT_FALSE(middlebox.note.empty()) << middlebox.name;
  }
}

TEST(FindMiddlebox, FindsANameInAnyCase) {
  for (const char* name : {"aws-nlb", "AWS-NLB", "Aws-Nlb"}) {
    auto found = find_middlebox(name);
    ASSERT_TRUE(found.ok()) << name;
    EXPECT_EQ(found->name, "aws-nlb");
    EXPECT_EQ(found->idle_timeout, Millis(350'000));
  }
  EXPECT_EQ(find_middlebox("azure-lb")->idle_timeout, Millis(240'000));
  EXPECT_EQ(find_middlebox("gcp-cloud-nat")->idle_timeout, Millis(1'200'000));
  EXPECT_EQ(find_middlebox("linux-conntrack")->idle_timeout, Millis(432'000'000));
}

TEST(FindMiddlebox, ReadsADurationAsACustomLimit) {
  auto custom = find_middlebox("5m");
  ASSERT_TRUE(custom.ok());
  EXPECT_EQ(custom->name, "custom");
  EXPECT_EQ(custom->idle_timeout, Millis(300'000));

  auto compound = find_middlebox("1m30s");
  ASSERT_TRUE(compound.ok());
  EXPECT_EQ(compound->idle_timeout, Millis(90'000));
}

TEST(FindMiddlebox, RejectsAZeroLimit) {
  auto zero = find_middlebox("0s");
  ASSERT_FALSE(zero.ok());
  EXPECT_EQ(zero.error().code, std::error_code(EINVAL, std::generic_category()));
}

TEST(FindMiddlebox, RejectsABadDurationWithTheParsersReason) {
  auto bad = find_middlebox("5x");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, std::error_code(EINVAL, std::generic_category()));
  EXPECT_EQ(bad.error().message, "'5x' is not a duration: unknown unit 'x' (use ms, s, m or h)");
}

TEST(FindMiddlebox, AnUnknownNameFailsNamingTheKnownOnes) {
  auto unknown = find_middlebox("cisco-asa");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, std::error_code(EINVAL, std::generic_category()));
  const std::string& message = unknown.error().message;
  EXPECT_TRUE(message.starts_with("unknown middlebox 'cisco-asa': name one of ")) << message;
  for (const Middlebox& middlebox : known_middleboxes()) {
    EXPECT_NE(message.find(middlebox.name), std::string::npos) << middlebox.name;
  }
  EXPECT_EQ(message.find('\n'), std::string::npos);
  EXPECT_NE(message.back(), '.');
}

TEST(FindMiddlebox, QuotesAnUnknownNameOnOneLine) {
  auto unknown = find_middlebox("a\nb");
  ASSERT_FALSE(unknown.ok());
  EXPECT_TRUE(unknown.error().message.starts_with("unknown middlebox 'a\\nb'"));
}

TEST(FindMiddlebox, AnEmptyStringFails) {
  auto empty = find_middlebox("");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, std::error_code(EINVAL, std::generic_category()));
  EXPECT_NE(empty.error().message.find("aws-nlb"), std::string::npos);
}

}  // namespace
}  // namespace tcpka
