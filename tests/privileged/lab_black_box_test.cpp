// `tcpka lab --target`: the user's own server in the lab's server host, predicted from
// the settings its accepted socket really holds and judged like the lab's own rows. Run
// against a Python echo server and two servers from Debian's packages that nobody on the
// team wrote (nginx and Redis), each with its own keepalive setting.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/bad_input.h"
#include "support/privileges.h"
#include "support/spawned_process.h"
#include "support/temporary_directory.h"

namespace tcpka::testing {
namespace {

using namespace std::chrono_literals;

// Every scenario waits at most its cap; they run at once.
constexpr auto kLabLimit = 120s;
// Debian's Python, not whatever a version manager puts first in PATH (the lab waits for a
// slow one, but these tests are about keepalive).
const std::string kPython = "/usr/bin/python3";
const std::string kEchoServer = kPython + " " TCPKA_TEST_DATA "/echo_server.py {port}";
const std::string kHttpRequest = "GET / HTTP/1.1\\r\\nHost: lab\\r\\n\\r\\n";

struct LabRun {
  std::optional<int> exit_code;
  std::map<std::string, nlohmann::json> scenarios;  // by title ("host-crash-busy (answer ...)")
  std::string output;
};

// `tcpka lab --json --target TARGET ARGS...` for the scenarios named.
LabRun run_black_box(const std::string& target, const std::vector<std::string>& only,
                     const std::vector<std::string>& arguments = {}) {
  std::vector<std::string> argv = {TCPKA_BINARY, "lab",      "--json", "--cap",
                                   "8s",         "--target", target};
  for (const std::string& name : only) {
    argv.push_back("--only");
    argv.push_back(name);
  }
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  auto lab = SpawnedProcess::start(argv);
  LabRun run;
  run.exit_code = lab.wait_exit(kLabLimit);
  run.output = lab.output() + lab.error_output();
  const auto report = nlohmann::json::parse(lab.output(), nullptr, false);
  if (report.is_discarded()) {
    ADD_FAILURE() << run.output;
    return run;
  }
  for (const auto& scenario : report["scenarios"]) {
    const std::string variant = scenario["variant"];
    const std::string name = scenario["scenario"];
    run.scenarios[variant.empty() ? name : name + " (" + variant + ")"] = scenario;
  }
  return run;
}

// A scenario judged as the lab's own rows are: predicted from the target's socket, and the
// measurement inside the prediction.
void expect_as_predicted(const nlohmann::json& scenario, const std::string& expected_kind) {
  EXPECT_EQ(scenario["verdict"], "ok") << scenario.dump(2);
  EXPECT_TRUE(scenario["pass"].get<bool>()) << scenario.dump(2);
  EXPECT_EQ(scenario["expected"]["kind"], expected_kind) << scenario.dump(2);
}

void expect_settings(const nlohmann::json& scenario, int idle_ms, int interval_ms, int count) {
  const auto& settings = scenario["target"]["settings"];
  ASSERT_TRUE(settings.is_object()) << scenario.dump(2);
  EXPECT_EQ(settings["keepalive"], true) << settings;
  EXPECT_EQ(settings["idle_ms"], idle_ms) << settings;
  EXPECT_EQ(settings["interval_ms"], interval_ms) << settings;
  EXPECT_EQ(settings["count"], count) << settings;
}

// nginx, as Debian ships it, in the foreground with everything it writes in `directory`:
// keepalive 2s/1s/3 on its listener (so_keepalive), connections kept an hour. The lab
// replaces {port} in the command only: the command puts it in the configuration.
std::string nginx_target(const TemporaryDirectory& directory) {
  const std::string dir = directory.path().string();
  std::ofstream(directory.path() / "nginx.conf.in")
      << "daemon off;\nmaster_process off;\n"
      << "error_log stderr info;\nevents {}\nhttp {\n  access_log off;\n"
      << "  client_body_temp_path " << dir << "/body;\n  proxy_temp_path " << dir << "/proxy;\n"
      << "  fastcgi_temp_path " << dir << "/fastcgi;\n  uwsgi_temp_path " << dir << "/uwsgi;\n"
      << "  scgi_temp_path " << dir << "/scgi;\n"
      << "  keepalive_timeout 1h;\n  client_header_timeout 1h;\n"
      << "  server {\n    listen @PORT@ so_keepalive=2s:1s:3;\n"
      << "    location / { return 200 \"hello\\n\"; }\n  }\n}\n";
  // Scenarios run at once, each with an nginx of its own: its configuration and pid file
  // named by its shell's pid.
  const std::string conf = dir + "/nginx-$$.conf";
  return "sed s/@PORT@/{port}/ " + dir + "/nginx.conf.in > " + conf + " && exec " +
         "/usr/sbin/nginx -p " + dir + " -c " + conf + " -g 'pid " + dir + "/nginx-$$.pid;'";
}

class LabBlackBox : public ::testing::Test {
 protected:
  void SetUp() override { TCPKA_REQUIRE_NETWORK_NAMESPACES(); }
};

// Without keepalive the Python server keeps a crashed client for ever: the lab reads that
// its socket has none and predicts exactly that.
TEST_F(LabBlackBox, AServerWithoutKeepaliveIsPredictedToKeepACrashedClient) {
  const LabRun run =
      run_black_box(kEchoServer, {"host-crash-idle", "process-exit", "host-crash-busy"},
                    {"--target-send", "hello\\n"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  const auto& idle = run.scenarios.at("host-crash-idle");
  expect_as_predicted(idle, "never");
  EXPECT_EQ(idle["target"]["settings"]["keepalive"], false) << idle.dump(2);
  EXPECT_EQ(idle["measured"]["kind"], "still_open");
  // Its echo in flight: retransmissions for tcp_retries2 (15 minutes), beyond the cap.
  const auto& busy = run.scenarios.at("host-crash-busy (answer in flight)");
  expect_as_predicted(busy, "beyond_cap");
  EXPECT_GT(busy["expected"]["earliest_ms"].get<int>(), 900'000) << busy.dump(2);
  const auto& exit = run.scenarios.at("process-exit");
  expect_as_predicted(exit, "detected");
  EXPECT_EQ(exit["measured"]["kind"], "dropped") << exit.dump(2);
}

TEST_F(LabBlackBox, AServerWithKeepaliveDropsACrashedClientInsideThePrediction) {
  const LabRun run =
      run_black_box(kEchoServer + " --keepalive 2 1 3", {"host-crash-idle", "host-reboot"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  const auto& crash = run.scenarios.at("host-crash-idle");
  expect_as_predicted(crash, "detected");
  expect_settings(crash, 2'000, 1'000, 3);
  EXPECT_EQ(crash["expected"]["earliest_ms"], 5'000) << crash.dump(2);
  EXPECT_EQ(crash["measured"]["kind"], "dropped") << crash.dump(2);
  EXPECT_EQ(crash["measured"]["probes"], 3) << crash.dump(2);
  expect_as_predicted(run.scenarios.at("host-reboot"), "detected");
}

// nginx waits for a request without one (an hour here): by default the lab sends nothing,
// and nginx's own keepalive (so_keepalive=2s:1s:3) is read from its accepted socket.
TEST_F(LabBlackBox, NginxIsPredictedFromItsOwnKeepalive) {
  const TemporaryDirectory directory("tcpka-lab-nginx");
  const LabRun run = run_black_box(nginx_target(directory), {"host-crash-idle", "peer-hung"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  const auto& crash = run.scenarios.at("host-crash-idle");
  expect_as_predicted(crash, "detected");
  expect_settings(crash, 2'000, 1'000, 3);
  EXPECT_EQ(crash["measured"]["probes"], 3) << crash.dump(2);
  // A hung client's kernel answers every probe: nothing ends it within the cap.
  expect_as_predicted(run.scenarios.at("peer-hung"), "never");
}

// With an HTTP request to send, nginx's answer can be caught in flight.
TEST_F(LabBlackBox, NginxAnswerInFlightIsBeyondTheCap) {
  const TemporaryDirectory directory("tcpka-lab-nginx");
  const LabRun run =
      run_black_box(nginx_target(directory), {"host-crash-busy"}, {"--target-send", kHttpRequest});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  const auto& busy = run.scenarios.at("host-crash-busy (answer in flight)");
  expect_as_predicted(busy, "beyond_cap");
  EXPECT_GT(busy["measured"]["retransmissions"].get<int>(), 0) << busy.dump(2);
}

// nginx closes a connection that opens with bytes that are not HTTP: the scenario did
// not run, says why, shows nginx's own words, and predicts nothing.
TEST_F(LabBlackBox, AServerThatClosesOnBytesItDoesNotUnderstandIsNotRun) {
  const TemporaryDirectory directory("tcpka-lab-nginx");
  const LabRun run = run_black_box(nginx_target(directory), {"host-crash-idle"},
                                   {"--target-send", "\\x16\\x03\\x01\\x00"});
  EXPECT_EQ(run.exit_code, 1) << run.output;
  const auto& scenario = run.scenarios.at("host-crash-idle");
  EXPECT_EQ(scenario["verdict"], "not run") << scenario.dump(2);
  EXPECT_EQ(scenario["expected"]["kind"], "none") << scenario.dump(2);
  EXPECT_NE(scenario["measured"]["note"].get<std::string>().find(
                "the target closed the connection after the client sent its --target-send bytes"),
            std::string::npos)
      << scenario.dump(2);
  const std::string output = scenario["target"]["output"].dump();
  EXPECT_NE(output.find("client sent invalid method"), std::string::npos) << scenario.dump(2);
}

// Redis's `tcp-keepalive 3` is idle 3 s, interval 1 s (a third), 3 probes.
TEST_F(LabBlackBox, RedisIsPredictedFromItsTcpKeepalive) {
  const LabRun run = run_black_box(
      "exec /usr/bin/redis-server --port {port} --tcp-keepalive 3 --save '' --appendonly no "
      "--protected-mode no",
      {"host-crash-idle", "process-exit"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  const auto& crash = run.scenarios.at("host-crash-idle");
  expect_as_predicted(crash, "detected");
  expect_settings(crash, 3'000, 1'000, 3);
  EXPECT_EQ(crash["expected"]["earliest_ms"], 6'000) << crash.dump(2);
  expect_as_predicted(run.scenarios.at("process-exit"), "detected");
}

// The same keepalive-less Python server under `tcpka exec` gets 2s/1s/3 and ut=auto: the
// lab reads them from its socket, and its answer in flight ends at the user timeout.
TEST_F(LabBlackBox, TcpkaExecGivesAServerKeepaliveThatTheLabReads) {
  const LabRun run = run_black_box(
      std::string(TCPKA_BINARY) + " exec --policy idle=2s,intvl=1s,cnt=3,ut=auto -- " + kEchoServer,
      {"host-crash-idle", "host-crash-busy"}, {"--target-send", "hello\\n"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  const auto& idle = run.scenarios.at("host-crash-idle");
  expect_as_predicted(idle, "detected");
  expect_settings(idle, 2'000, 1'000, 3);
  EXPECT_EQ(idle["target"]["settings"]["user_timeout_ms"], 5'000) << idle.dump(2);
  const auto& busy = run.scenarios.at("host-crash-busy (answer in flight)");
  expect_as_predicted(busy, "detected");
  EXPECT_EQ(busy["expected"]["cause"], "user_timeout") << busy.dump(2);
}

// Data in flight needs something to send: without --target-send that row says so and is
// not run; the rest run.
TEST_F(LabBlackBox, TheAnswerInFlightRowSaysItNeedsTargetSend) {
  const LabRun run = run_black_box(kEchoServer, {"host-crash-busy", "process-exit"});
  EXPECT_EQ(run.exit_code, 1) << run.output;
  const auto& busy = run.scenarios.at("host-crash-busy (answer in flight)");
  EXPECT_EQ(busy["verdict"], "not run") << busy.dump(2);
  EXPECT_EQ(busy["expected"]["kind"], "none") << busy.dump(2);
  EXPECT_NE(busy["measured"]["note"].get<std::string>().find("needs --target-send"),
            std::string::npos)
      << busy.dump(2);
  expect_as_predicted(run.scenarios.at("process-exit"), "detected");
}

// A server waited for while it starts slower than the lab's old fixed 5 s (a JVM, a
// Python behind a version manager's shim): here one that takes 6 s.
TEST_F(LabBlackBox, WaitsForASlowServerToListen) {
  const LabRun run =
      run_black_box("sleep 6; exec " + kEchoServer, {"process-exit"}, {"--target-startup", "60s"});
  EXPECT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(run.scenarios.at("process-exit")["measured"]["kind"], "dropped") << run.output;
}

// One that never listens is given up on at --target-startup, saying what was awaited; one
// that exits says with what status and what it wrote last.
TEST_F(LabBlackBox, SaysWhyTheServerDidNotRunAndWhatItWrote) {
  const LabRun silent =
      run_black_box("exec sleep 60", {"process-exit"}, {"--target-startup", "1s"});
  EXPECT_EQ(silent.exit_code, 1) << silent.output;
  const std::string note = silent.scenarios.at("process-exit")["measured"]["note"];
  EXPECT_NE(note.find("waited 1s (--target-startup) for the target to listen on port"),
            std::string::npos)
      << note;
  EXPECT_NE(note.find("exec sleep 60"), std::string::npos) << note;

  const LabRun exited = run_black_box("echo starting; echo 'cannot open /etc/app.conf' >&2; exit 3",
                                      {"process-exit"});
  EXPECT_EQ(exited.exit_code, 1) << exited.output;
  const auto& scenario = exited.scenarios.at("process-exit");
  EXPECT_NE(scenario["measured"]["note"].get<std::string>().find(
                "the target exited with status 3 before it listened on port"),
            std::string::npos)
      << scenario.dump(2);
  EXPECT_EQ(scenario["target"]["output"],
            nlohmann::json::array({"starting", "cannot open /etc/app.conf"}))
      << scenario.dump(2);
}

TEST_F(LabBlackBox, ATargetSendWithABadEscapeOrAMissingFileIsBadInput) {
  expect_bad_input(TCPKA_BINARY, "lab",
                   {{"--target", kEchoServer, "--target-send", "a\\q"},
                    {"--target", kEchoServer, "--target-send", "\\x4"},
                    {"--target", kEchoServer, "--target-send", "@/nonexistent/request"},
                    {"--target-send", "x"}});
}

}  // namespace
}  // namespace tcpka::testing
