// `tcpka policy` run as a user runs it.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <nlohmann/json.hpp>
#include <string>

#include "support/child_process.h"
#include "support/loopback.h"

namespace tcpka {
namespace {

using testing::run_process;

testing::ProcessResult tcpka(std::vector<std::string> args) {
  args.insert(args.begin(), TCPKA_BINARY);
  return run_process(args);
}

int count_lines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

TEST(PolicyCommand, PrintsTheTableOfPredictions) {
  const auto result = tcpka({"policy", "--policy", "idle=10s,intvl=5s,cnt=5,ut=auto"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("peer                  idle"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("host crashed/cut off  35s ETIMEDOUT"), std::string::npos);
  EXPECT_EQ(result.err, "");
}

TEST(PolicyCommand, DefaultsToWhatAProgramGetsWithoutAsking) {
  const auto result = tcpka({"policy"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find("policy   off"), std::string::npos);
  EXPECT_NE(result.out.find("warning: keepalive is off"), std::string::npos);
}

TEST(PolicyCommand, JsonIsMachineReadable) {
  const auto result = tcpka({"policy", "-p", "10:5:5,ut=auto", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_EQ(json["effective"]["user_timeout_ms"], 35'000);
  EXPECT_EQ(json["predictions"].size(), 25u);
}

TEST(PolicyCommand, ExplainShowsTheMechanisms) {
  const auto result = tcpka({"policy", "-p", "10:5:5", "--explain"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find("How each is found"), std::string::npos);
}

TEST(PolicyCommand, BadInputGetsOneLineAndExitTwo) {
  const std::vector<std::vector<std::string>> cases = {
      {"policy", "--policy", "idle=0"},
      {"policy", "--policy", "idle=1500ms"},
      {"policy", "--policy", ""},
      {"policy", "--policy", "ut=30000"},
      {"policy", "--rtt", "fast"},
      {"policy", "--fd-of", "nowhere"},
      {"policy", "--fd-of", "127.0.0.1:0"},
      {"policy", "--bogus"},
      {"bogus"},
      {"policy", "--policy"},
      {"policy", "--loss", "101%"},
      {"policy", "--loss", "lots"},
      {"policy", "--loss", "1%,"},
      {"policy", "--recommend"},
      {"policy", "--recommend", "--loss", "1%", "--policy", "10:5:5"},
      {"policy", "--recommend", "--loss", "1%", "--false-kills", "0"},
      {"policy", "--recommend", "--loss", "1%", "--false-kills", "1/0"},
      {"policy", "--recommend", "--loss", "1%", "--middlebox", "nosuchbox"},
      {"policy", "--middlebox", "aws-nlb"},
      {"policy", "--heartbeat", "0s"},
      {"policy", "--heartbeat", "1s,timeout=1s"},
      {"policy", "--heartbeat", "1s,phi=8,timeout=3s"},
      {"policy", "--heartbeat", "1s,window=5"},
  };
  for (const auto& args : cases) {
    const auto result = tcpka(args);
    EXPECT_EQ(result.exit_code, 2) << args.back();
    EXPECT_EQ(count_lines(result.err), 1) << result.err;
    EXPECT_EQ(result.out, "") << args.back();
  }
}

TEST(PolicyCommand, TheMessageNamesFieldValueAndRange) {
  const auto result = tcpka({"policy", "--policy", "cnt=200"});
  EXPECT_EQ(result.err,
            "tcpka policy: --policy: cnt=200 is out of range: TCP_KEEPCNT accepts 1..127\n");
}

// 2s:1s:3 on a path losing 10% each way: three lost probe round trips in a row (0.19^3)
// are bound to come within a day.
TEST(PolicyCommand, LossSaysHowLikelyAHealthyConnectionIsKilled) {
  const auto result = tcpka({"policy", "-p", "2s:1s:3", "--loss", "10%"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("On a path losing 10% each way (a probe round trip fails 19%)"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("3 unanswered probes in a row end a healthy connection"),
            std::string::npos);
  EXPECT_NE(result.out.find("warning: a false kill chance of 1 per connection per day is high"),
            std::string::npos)
      << result.out;
  const auto json = nlohmann::json::parse(
      tcpka({"policy", "-p", "idle=30s,intvl=5s,cnt=3", "--loss", "1%,0%", "--json"}).out);
  EXPECT_EQ(json["false_kills"]["fatal_probe_losses"], 3);
  EXPECT_NEAR(json["false_kills"]["probe_round_trip_loss"].get<double>(), 0.01, 1e-12);
  EXPECT_GT(json["false_kills"]["per_day"].get<double>(), 0);
  EXPECT_LT(json["false_kills"]["per_hour"].get<double>(),
            json["false_kills"]["per_day"].get<double>());
}

TEST(PolicyCommand, RecommendGivesTheFastestPolicyWithinTheGoal) {
  const auto result = tcpka({"policy", "--recommend", "--loss", "1%", "--middlebox", "aws-nlb",
                             "--false-kills", "1/1000000", "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const auto json = nlohmann::json::parse(result.out);
  EXPECT_LE(json["false_kills_per_day"].get<double>(), 1e-6) << json;
  EXPECT_GE(json["idle_ms"].get<int>(), 10'000) << json;
  EXPECT_LE(json["idle_ms"].get<int>(), 315'000) << json;
  // The recommendation is a policy the other commands take.
  const auto shown = tcpka({"policy", "-p", json["policy"].get<std::string>(), "--loss", "1%"});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_EQ(shown.out.find("warning: a false kill chance"), std::string::npos) << shown.out;
  // A path that loses too much has no answer: said, exit 1.
  const auto hopeless = tcpka({"policy", "--recommend", "--loss", "60%"});
  EXPECT_EQ(hopeless.exit_code, 1);
  EXPECT_NE(hopeless.err.find("no policy"), std::string::npos) << hopeless.err;
}

// A hung peer is invisible to keepalive; the heartbeat finds it, and a crashed host too,
// long before keepalive's 25 s.
TEST(PolicyCommand, HeartbeatSaysWhatItFindsAndWhetherItIsFirst) {
  const auto result = tcpka({"policy", "-p", "10:5:3", "--heartbeat", "1s,timeout=3s"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.out.find("With heartbeats 1s (a ping after 1s of silence"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("process hung          3s..3.488s heartbeat_timeout  never"),
            std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("host rebooted         1s..1.238s ECONNRESET"), std::string::npos);
  const auto json = nlohmann::json::parse(
      tcpka({"policy", "-p", "10:5:3", "--heartbeat", "1s,phi=8", "--json"}).out);
  const auto& failures = json["heartbeat"]["failures"];
  ASSERT_EQ(failures.size(), 5U);
  EXPECT_EQ(failures[0]["first"], "kernel");  // a process exit: FIN at once
  EXPECT_EQ(failures[4]["failure"], "process_hung");
  EXPECT_EQ(failures[4]["first"], "heartbeat");
  EXPECT_EQ(failures[4]["heartbeat"]["cause"], "heartbeat_timeout");
  EXPECT_EQ(json["heartbeat"]["policy"]["phi"]["threshold"], 8);
}

TEST(PolicyCommand, NoArgumentsPrintsHelpAndExitsTwo) {
  const auto result = tcpka({});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("Subcommands:"), std::string::npos);
}

TEST(PolicyCommand, HelpExitsZero) {
  const auto result = tcpka({"policy", "--help"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.out.find("--fd-of"), std::string::npos);
}

TEST(PolicyCommand, FdOfReadsBackFromALiveSocket) {
  for (int family : {AF_INET, AF_INET6}) {
    auto listener = testing::listen_on_loopback(family);
    const std::string port = std::to_string(testing::local_port(listener.get()));
    const std::string target = family == AF_INET ? "127.0.0.1:" + port : "[::1]:" + port;
    // --keep-total changes nothing where the count can be set (only Windows' fallback
    // fixes it; tests/windows/policy_command_under_wine.sh checks that side).
    const auto result =
        tcpka({"policy", "-p", "10:5:5,ut=auto", "--fd-of", target, "--keep-total", "--json"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    const auto json = nlohmann::json::parse(result.out);
    EXPECT_EQ(json["live_socket"]["matches"], true);
    EXPECT_EQ(json["live_socket"]["read_back"]["idle_ms"], 10'000);
    EXPECT_EQ(json["live_socket"]["read_back"]["user_timeout_ms"], 35'000);
    EXPECT_EQ(json["live_socket"]["read_back"]["unreadable"], "");
    EXPECT_EQ(json["live_socket"]["mechanism"], "socket_options");
    EXPECT_FALSE(json["live_socket"].contains("fixed_count"));
    EXPECT_FALSE(json["live_socket"].contains("adapted_interval_ms"));
  }
}

TEST(PolicyCommand, FdOfToAClosedPortFailsClearly) {
  // Bound but not listening: the port stays ours and refuses connections.
  net::UniqueFd bound(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const net::SocketAddress address = testing::loopback_address(AF_INET, 0);
  ASSERT_EQ(::bind(bound.get(), address.get(), address.length), 0);
  const int port = testing::local_port(bound.get());
  const auto result = tcpka({"policy", "--fd-of", "127.0.0.1:" + std::to_string(port)});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("Connection refused"), std::string::npos) << result.err;
  EXPECT_EQ(count_lines(result.err), 1);
}

}  // namespace
}  // namespace tcpka
