// `tcpka connect` run as a user runs it, against `tcpka serve` and against test sockets.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "running_serve.h"
#include "support/child_process.h"
#include "support/loopback.h"
#include "support/spawned_process.h"

namespace tcpka {
namespace {

using namespace testing;
using namespace std::chrono_literals;

using Server = RunningServe;

Server start_server(const std::vector<std::string>& args = {}) {
  return start_serve(args);
}

struct ConnectRun {
  int exit_code = -1;
  std::vector<nlohmann::json> events;  // close events
  nlohmann::json summary;
  std::string err;
};

ConnectRun run_connect(std::vector<std::string> args, std::chrono::milliseconds limit = 30s) {
  std::vector<std::string> argv = {TCPKA_BINARY, "connect", "--log", "json"};
  argv.insert(argv.end(), args.begin(), args.end());
  const ProcessResult result = run_process(argv, limit);
  ConnectRun run{result.exit_code, {}, {}, result.err};
  std::istringstream lines(result.out);
  std::string line;
  while (std::getline(lines, line)) {
    const auto json = nlohmann::json::parse(line);
    if (json["event"] == "close") run.events.push_back(json);
    if (json["event"] == "summary") run.summary = json;
  }
  return run;
}

TEST(Connect, TimesEchoRoundTrips) {
  Server server = start_server();
  const ConnectRun run = run_connect({server.address, "--count", "10", "--send-every", "20ms",
                                      "--size", "100", "--duration", "1s"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.summary["established"], 10);
  EXPECT_GT(run.summary["round_trips"].get<int>(), 200);
  EXPECT_GT(run.summary["round_trip_ms"]["p50"].get<double>(), 0.0);
  EXPECT_LE(run.summary["round_trip_ms"]["p50"].get<double>(),
            run.summary["round_trip_ms"]["p99"].get<double>());
  // Live when the run ended: open at the end, not closed by some cause.
  EXPECT_EQ(run.summary["open_at_end"], 10);
  EXPECT_EQ(run.summary["closed"], 0);
  EXPECT_TRUE(run.summary["ended_by_cause"].empty()) << run.summary;
  EXPECT_GE(run.summary["bytes_out"].get<int>(), run.summary["bytes_in"].get<int>());
}

TEST(Connect, ReportsWhyEachConnectionDied) {
  Server server = start_server({"--idle-timeout", "300ms"});
  const ConnectRun run = run_connect({server.address, "--count", "3", "--hold"});
  EXPECT_EQ(run.exit_code, 0) << run.err;  // ends by itself: every connection ended
  ASSERT_EQ(run.events.size(), 3u);
  for (const auto& event : run.events) {
    EXPECT_EQ(event["cause"], "peer_closed");
    EXPECT_EQ(event["peer"], server.address);
    // serve closes no sooner than 300 ms after it accepted; connect starts its clock when
    // its own loop sees the connection open, which a busy machine may delay a little.
    EXPECT_GE(event["duration_ms"].get<int>(), 250);
  }
}

TEST(Connect, ClientSideKeepaliveFindsADeadServer) {
  // The server's host goes silent: its accepted socket drops everything.
  net::UniqueFd listener = listen_on_loopback(AF_INET);
  const std::string address = "127.0.0.1:" + std::to_string(local_port(listener.get()));
  SpawnedProcess client =
      SpawnedProcess::start({TCPKA_BINARY, "connect", address, "--policy", "idle=1s,intvl=1s,cnt=2",
                             "--hold", "--log", "json"});
  pollfd waiting{listener.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&waiting, 1, 10'000), 1) << "connect never connected";
  net::UniqueFd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(accepted.valid());
  silence(accepted.get());
  const auto closed = client.wait_for_line("\"close\"", 30s);
  ASSERT_TRUE(closed.has_value());
  const auto event = nlohmann::json::parse(*closed);
  EXPECT_EQ(event["cause"], "keepalive_timeout");
  EXPECT_EQ(event["errno"], "ETIMEDOUT");
  EXPECT_EQ(event["probes"], 2);
  EXPECT_EQ(client.wait_exit(30s), 0);
}

TEST(Connect, RefusedConnectionsExitOne) {
  net::UniqueFd bound(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const net::SocketAddress any = loopback_address(AF_INET, 0);
  ASSERT_EQ(::bind(bound.get(), any.get(), any.length), 0);
  const std::string address = "127.0.0.1:" + std::to_string(local_port(bound.get()));
  const ConnectRun run = run_connect({address, "--count", "2"});
  EXPECT_EQ(run.exit_code, 1);
  ASSERT_EQ(run.events.size(), 2u);
  EXPECT_EQ(run.events[0]["cause"], "connect_refused");
  EXPECT_EQ(run.events[0]["errno"], "ECONNREFUSED");
  EXPECT_EQ(run.summary["failed"], 2);
}

TEST(Connect, ReconnectsWithExponentialBackoff) {
  net::UniqueFd bound(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const net::SocketAddress any = loopback_address(AF_INET, 0);
  ASSERT_EQ(::bind(bound.get(), any.get(), any.length), 0);
  const std::string address = "127.0.0.1:" + std::to_string(local_port(bound.get()));
  // Backoff 100, 200, 400, 800 ms (+-20 %): about five attempts in 1.6 s, not dozens.
  const ConnectRun run = run_connect({address, "--reconnect", "--duration", "1600ms"});
  const int attempts = run.summary["attempted"];
  EXPECT_GE(attempts, 3);
  EXPECT_LE(attempts, 6);
  // Every attempt is refused, but for one that --duration's end finds in flight: on a
  // loaded machine the refusal may come after the end (then its cause is local).
  const int refused = run.summary["ended_by_cause"].value("connect_refused", 0);
  const int cut_short = run.summary["ended_by_cause"].value("local", 0);
  EXPECT_EQ(refused + cut_short, attempts) << run.summary.dump();
  EXPECT_LE(cut_short, 1) << run.summary.dump();
}

TEST(Connect, SpreadsConnectionsOverSourceAddresses) {
  Server server = start_server();
  const ConnectRun run =
      run_connect({server.address, "--count", "20", "--source", "127.0.0.2-127.0.0.5", "--send",
                   "hi", "--duration", "500ms"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  std::set<std::string> sources;
  server.process.signal(SIGTERM);
  EXPECT_EQ(server.process.wait_exit(30s), 0);
  for (const std::string& line : server.process.lines()) {
    const auto json = nlohmann::json::parse(line);
    if (json["event"] != "close") continue;
    const std::string peer = json["peer"];
    sources.insert(peer.substr(0, peer.rfind(':')));
  }
  EXPECT_EQ(sources, (std::set<std::string>{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"}));
}

TEST(Connect, OpensAtTheAskedRate) {
  Server server = start_server({"--idle-timeout", "50ms"});
  const auto start = std::chrono::steady_clock::now();
  const ConnectRun run = run_connect({server.address, "--count", "50", "--rate", "100", "--hold"});
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(run.summary["established"], 50);
  EXPECT_GE(took, 450ms);  // 50 at 100 per second: the last one opens after 0.49 s
}

// Waits up to `limit` for serve (run with --stats-every) to report `open` connections.
bool wait_until_serve_has_open(Server& server, int open, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::size_t checked = 0;
  while (true) {
    const std::vector<std::string>& lines = server.process.lines();
    for (; checked < lines.size(); ++checked) {
      if (lines[checked].find("\"summary\"") == std::string::npos) continue;
      if (nlohmann::json::parse(lines[checked])["open"] == open) return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    server.process.read_output(50ms);
  }
}

TEST(Connect, StopsOnSigintWithASummary) {
  Server server = start_server({"--stats-every", "100ms"});
  SpawnedProcess client = SpawnedProcess::start(
      {TCPKA_BINARY, "connect", server.address, "--count", "5", "--hold", "--log", "json"});
  // Interrupted only once all five are open, as serve sees them: not after a guessed delay.
  ASSERT_TRUE(wait_until_serve_has_open(server, 5, 30s)) << client.error_output();
  client.signal(SIGINT);
  EXPECT_EQ(client.wait_exit(30s), 0);
  const auto summary =
      std::find_if(client.lines().begin(), client.lines().end(),
                   [](const std::string& l) { return l.find("\"summary\"") != std::string::npos; });
  ASSERT_NE(summary, client.lines().end());
  EXPECT_EQ(nlohmann::json::parse(*summary)["open_at_end"], 5);
}

TEST(Connect, BadInputGetsOneLineAndExitTwo) {
  const std::vector<std::vector<std::string>> cases = {
      {"nowhere.invalid:80"},
      {"127.0.0.1:0"},
      {"127.0.0.1"},
      {"127.0.0.1:7", "--source", "1.2.3"},
      {"127.0.0.1:7", "--source", "9.9.9.9-1.1.1.1"},
      {"127.0.0.1:7", "--source", "::1"},
      {"127.0.0.1:7", "--count", "0"},
      {"127.0.0.1:7", "--count", "100000000"},
      {"127.0.0.1:7", "--rate", "-5"},
      {"127.0.0.1:7", "--hold", "--send", "x"},
      {"127.0.0.1:7", "--send", "x", "--size", "10"},
      {"127.0.0.1:7", "--send-every", "0ms"},
      {"127.0.0.1:7", "--policy", "cnt=0"},
      {"127.0.0.1:7", "--log", "xml"},
      {},
  };
  for (const auto& args : cases) {
    std::vector<std::string> argv = {TCPKA_BINARY, "connect"};
    argv.insert(argv.end(), args.begin(), args.end());
    const ProcessResult result = run_process(argv, 30s);
    const std::string shown = args.empty() ? "(none)" : args.back();
    EXPECT_EQ(result.exit_code, 2) << shown << ": " << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  }
}

}  // namespace
}  // namespace tcpka
