#include "policy/policy_report.h"

#include <gtest/gtest.h>

namespace tcpka::tools {
namespace {

PolicyReport report_for(const char* text) {
  const Policy asked = *parse_policy(text);
  const SystemDefaults system;
  return make_policy_report(asked, *resolve(asked, system), system, PathFacts{});
}

TEST(PolicyReport, PredictsEveryFailureForEveryActivity) {
  EXPECT_EQ(report_for("10:5:5").predictions.size(), 5u * 5u);
}

TEST(PolicyReport, TextShowsTheTableAndTheWarnings) {
  const std::string text = render_text(report_for("10:5:5"), false);
  EXPECT_NE(text.find("policy   idle=10s,intvl=5s,cnt=5\n"), std::string::npos) << text;
  // In the platform's own names: TCP_USER_TIMEOUT on Linux, TCP_MAXRT on Windows.
  EXPECT_NE(text.find("TCP_KEEPIDLE=10s  TCP_KEEPINTVL=5s  TCP_KEEPCNT=5  " +
                      std::string(platform_limits().user_timeout_option) + "=off"),
            std::string::npos);
  EXPECT_NE(text.find("host crashed/cut off  35s ETIMEDOUT"), std::string::npos) << text;
  EXPECT_NE(text.find("process hung          never"), std::string::npos) << text;
  EXPECT_NE(text.find("warning: no TCP_USER_TIMEOUT"), std::string::npos);
  EXPECT_EQ(text.find("How each is found"), std::string::npos);
}

TEST(PolicyReport, ExplainAddsIntervalsAndMechanisms) {
  const std::string text = render_text(report_for("10:5:5"), true);
  EXPECT_NE(text.find("host crashed/cut off, idle: 35s..39.426s after the last segment from the "
                      "peer, ETIMEDOUT (keepalive_timeout, 5 probes)"),
            std::string::npos)
      << text;
}

TEST(PolicyReport, JsonCarriesEveryPrediction) {
  const nlohmann::json json = render_json(report_for("10:5:5,ut=auto"));
  EXPECT_EQ(json["policy"], "idle=10s,intvl=5s,cnt=5,ut=auto");
  EXPECT_EQ(json["effective"]["user_timeout_ms"], 35'000);
  EXPECT_EQ(json["system"]["tcp_retries2"], 15);
  ASSERT_EQ(json["predictions"].size(), 25u);
  bool found = false;
  for (const auto& p : json["predictions"]) {
    if (p["failure"] == "host_silent" && p["activity"] == "idle") {
      found = true;
      EXPECT_EQ(p["earliest_ms"], 35'000);
      EXPECT_EQ(p["errno"], "ETIMEDOUT");
      EXPECT_EQ(p["cause"], "keepalive_timeout");
      EXPECT_EQ(p["probes"], 5);
    }
    if (p["failure"] == "process_hung" && p["activity"] == "idle") {
      EXPECT_EQ(p["detected"], false);
      EXPECT_FALSE(p.contains("earliest_ms"));
    }
  }
  EXPECT_TRUE(found);
  EXPECT_TRUE(json["warnings"].empty());
}

}  // namespace
}  // namespace tcpka::tools
