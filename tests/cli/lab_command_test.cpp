// `tcpka lab`'s command line: bad input gets one line and exit 2 before anything is
// created; --list needs no privileges. (The runs themselves are privileged tests.)
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/spawned_process.h"

namespace tcpka::testing {
namespace {

using namespace std::chrono_literals;

struct Outcome {
  std::optional<int> code;
  std::string out;
  std::string err;
};

Outcome run_lab(std::vector<std::string> arguments) {
  arguments.insert(arguments.begin(), {TCPKA_BINARY, "lab"});
  auto lab = SpawnedProcess::start(arguments);
  Outcome outcome;
  outcome.code = lab.wait_exit(30s);
  for (const std::string& line : lab.lines())
    outcome.out += line + "\n";
  outcome.err = lab.error_output();
  return outcome;
}

TEST(LabCommand, BadInputGetsOneLineAndExitTwo) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--cap", "1s"}, "tcpka lab: --cap: give 5s to 10m\n"},
      {{"--cap", "soon"}, "tcpka lab: --cap: 'soon' is not a duration"},
      {{"--only", "meteor-strike"}, "tcpka lab: --only: no scenario 'meteor-strike'"},
      {{"--policy", "idle=0.5s"}, "tcpka lab: --policy: idle=500ms is out of range"},
      {{"--report", "/nonexistent/dir/lab.html"},
       "tcpka lab: --report: cannot write /nonexistent/dir/lab.html"},
      {{"--target-startup", "5s"}, "tcpka lab: --target-startup: only with --target\n"},
      {{"--target", "true", "--target-startup", "0s"},
       "tcpka lab: --target-startup: give 100ms to 10m\n"},
      {{"--target", "true", "--target-startup", "later"},
       "tcpka lab: --target-startup: 'later' is not a duration"},
  };
  for (const auto& [arguments, message] : cases) {
    const Outcome outcome = run_lab(arguments);
    EXPECT_EQ(outcome.code, 2) << arguments[0] << " " << arguments.back();
    EXPECT_EQ(outcome.err.rfind(message, 0), 0u) << outcome.err;
    EXPECT_EQ(std::count(outcome.err.begin(), outcome.err.end(), '\n'), 1) << outcome.err;
    EXPECT_TRUE(outcome.out.empty()) << outcome.out;
  }
}

TEST(LabCommand, ListsTheMatrixWithoutRunningIt) {
  const Outcome outcome = run_lab({"--list"});
  EXPECT_EQ(outcome.code, 0) << outcome.err;
  for (const char* name :
       {"process-exit", "host-crash-idle (IPv6)", "host-crash-idle (client's view)",
        "host-crash-busy (no UT, tcp_retries2=5)", "host-crash-zero-window (UT)", "host-reboot",
        "unreachable", "partition-heals", "peer-hung", "nat-timeout (keepalive off)",
        "connect-blackhole"}) {
    EXPECT_NE(outcome.out.find(name), std::string::npos) << name << " missing from\n"
                                                         << outcome.out;
  }
  // A name selects every variant of it: keepalive's view, and the heartbeat's four.
  const Outcome hung = run_lab({"--list", "--only", "peer-hung"});
  EXPECT_EQ(std::count(hung.out.begin(), hung.out.end(), '\n'), 5) << hung.out;
  EXPECT_NE(hung.out.find("peer-hung (heartbeat)"), std::string::npos) << hung.out;
  EXPECT_NE(hung.out.find("peer-hung (pause, phi)"), std::string::npos) << hung.out;
  const Outcome one = run_lab({"--list", "--only", "peer-hung (heartbeat)"});
  EXPECT_EQ(std::count(one.out.begin(), one.out.end(), '\n'), 1) << one.out;
}

}  // namespace
}  // namespace tcpka::testing
