// `tcpka watch --metrics` as Prometheus sees it: its exposition passes `promtool check
// metrics`, the deploy/ files pass promtool (the alert rules, their unit tests, the example
// configuration), and a real Prometheus scraping it counts a connection reset on loopback
// that this test makes, with the alert rules loaded and evaluating without error.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "net/unique_fd.h"
#include "support/child_process.h"
#include "support/loopback.h"
#include "support/spawned_process.h"
#include "support/temporary_directory.h"

#ifndef TCPKA_BINARY
#error "TCPKA_BINARY must name the tcpka program (a compile definition)"
#endif
#ifndef TCPKA_SOURCE_DIR
#error "TCPKA_SOURCE_DIR must name the source tree, for deploy/ (a compile definition)"
#endif

namespace tcpka::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using std::chrono::milliseconds;

constexpr const char* kPrometheus = "/usr/bin/prometheus";
constexpr const char* kPromtool = "/usr/bin/promtool";

std::string source_path(const std::string& relative) {
  return std::string(TCPKA_SOURCE_DIR) + "/" + relative;
}

// Why the Prometheus tools cannot run here (Debian's prometheus package, which ./dev setup
// installs), or empty.
std::optional<std::string> prometheus_missing() {
  for (const char* program : {kPrometheus, kPromtool}) {
    if (::access(program, X_OK) != 0) {
      return std::string(program) + " is missing (Debian package prometheus; ./dev setup)";
    }
  }
  return std::nullopt;
}

milliseconds left_until(Clock::time_point deadline) {
  return std::max(milliseconds(0),
                  std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
}

// Whether the process has ended, without reaping it (SpawnedProcess does that).
bool has_exited(const SpawnedProcess& process) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(process.pid()), &info, WEXITED | WNOHANG | WNOWAIT) ==
             0 &&
         info.si_pid == process.pid();
}

// Waits until `fd` is ready for `events` (or has an error or hang-up) before `deadline`.
bool wait_ready(int fd, short events, Clock::time_point deadline) {
  while (true) {
    const milliseconds left = left_until(deadline);
    if (left.count() == 0) return false;
    pollfd waiting{fd, events, 0};
    const int ready = ::poll(&waiting, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
    if (ready > 0) return true;
  }
}

struct HttpReply {
  int status = 0;
  std::string body;
};

// GET `target` from 127.0.0.1:`port` as HTTP/1.0, to which a server answers and then
// closes. Empty when no whole answer came within `limit` (refused, reset, too slow).
std::optional<HttpReply> http_get(int port, const std::string& target, milliseconds limit) {
  const Clock::time_point deadline = Clock::now() + limit;
  net::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  const net::SocketAddress to = loopback_address(AF_INET, port);
  if (::connect(fd.get(), to.get(), to.length) != 0 && errno != EINPROGRESS) return std::nullopt;
  if (!wait_ready(fd.get(), POLLOUT, deadline)) return std::nullopt;
  int error = 0;
  socklen_t length = sizeof(error);
  if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
    return std::nullopt;
  }
  const std::string request = "GET " + target +
                              " HTTP/1.0\r\nHost: 127.0.0.1:" + std::to_string(port) +
                              "\r\nAccept: */*\r\n\r\n";
  std::string_view unsent = request;
  while (!unsent.empty()) {
    if (!wait_ready(fd.get(), POLLOUT, deadline)) return std::nullopt;
    const ssize_t n = ::send(fd.get(), unsent.data(), unsent.size(), MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return std::nullopt;
    unsent.remove_prefix(static_cast<std::size_t>(n));
  }
  std::string reply;
  char buffer[16384];
  while (true) {
    if (!wait_ready(fd.get(), POLLIN, deadline)) return std::nullopt;
    const ssize_t n = ::recv(fd.get(), buffer, sizeof(buffer), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    reply.append(buffer, static_cast<std::size_t>(n));
  }
  // "HTTP/1.1 200 OK\r\n...\r\n\r\nbody"
  const std::size_t head_end = reply.find("\r\n\r\n");
  if (reply.rfind("HTTP/1.", 0) != 0 || reply.size() < 12 || head_end == std::string::npos) {
    return std::nullopt;
  }
  HttpReply parsed;
  parsed.status = std::atoi(reply.c_str() + 9);
  parsed.body = reply.substr(head_end + 4);
  return parsed;
}

// `text` as a URL's query component: unreserved characters as they are, the rest %XX.
std::string percent_encoded(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string encoded;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte >= 'A' && byte <= 'Z') || (byte >= 'a' && byte <= 'z') ||
        (byte >= '0' && byte <= '9') || byte == '-' || byte == '_' || byte == '.' || byte == '~') {
      encoded += c;
    } else {
      encoded += '%';
      encoded += kHex[byte >> 4];
      encoded += kHex[byte & 0x0F];
    }
  }
  return encoded;
}

// What the ready line says: "tcpka watch: ready via SOURCE, metrics on ADDRESS:PORT",
// where SOURCE may be followed by a note in parentheses (the namespaces it watches).
struct WatchReady {
  std::string source;
  int port = 0;
};

std::optional<WatchReady> wait_for_ready(SpawnedProcess& watch, milliseconds limit) {
  constexpr std::string_view kReady = "tcpka watch: ready via ";
  constexpr std::string_view kMetrics = ", metrics on ";
  const Clock::time_point deadline = Clock::now() + limit;
  bool gone = false;
  while (true) {
    const std::string& err = watch.error_output();
    const std::size_t start = err.find(kReady);
    const std::size_t end = start == std::string::npos ? std::string::npos : err.find('\n', start);
    if (end != std::string::npos) {
      const std::string line = err.substr(start, end - start);
      const std::size_t metrics = line.find(kMetrics);
      const std::size_t colon = line.rfind(':');
      if (metrics == std::string::npos || colon == std::string::npos || colon < metrics) {
        return std::nullopt;
      }
      WatchReady ready;
      const std::string after = line.substr(kReady.size());
      ready.source = after.substr(0, after.find_first_of(" ,"));
      ready.port = std::stoi(line.substr(colon + 1));
      return ready;
    }
    if (left_until(deadline).count() == 0 || gone) return std::nullopt;
    // Once it has exited, one last look at what it wrote before it went.
    gone = has_exited(watch);
    watch.read_output(gone ? milliseconds(0) : std::min(left_until(deadline), milliseconds(100)));
  }
}

// A port nobody listens on now: bound to 127.0.0.1 by the kernel's choice, then closed.
int free_port() {
  const net::UniqueFd fd = listen_on_loopback(AF_INET);
  return local_port(fd.get());
}

// The instant query's result vector, or empty when Prometheus does not answer it.
std::optional<json> query(int port, const std::string& promql) {
  const auto reply = http_get(port, "/api/v1/query?query=" + percent_encoded(promql), 10s);
  if (!reply || reply->status != 200) return std::nullopt;
  const json answer = json::parse(reply->body, nullptr, false);
  if (answer.is_discarded() || answer.value("status", "") != "success") return std::nullopt;
  return answer["data"]["result"];
}

// The first sample's value of an instant query's result.
std::optional<double> first_value(const json& result) {
  if (!result.is_array() || result.empty()) return std::nullopt;
  return std::stod(result[0]["value"][1].get<std::string>());
}

// Everything that says why Prometheus did not see what it should have.
std::string diagnostics(int watch_port, int prometheus_port, const SpawnedProcess& watch,
                        const SpawnedProcess& prometheus) {
  std::string text = "tcpka watch's standard error:\n" + watch.error_output();
  if (const auto metrics = http_get(watch_port, "/metrics", 10s)) {
    text += "\ntcpka watch's /metrics now:\n" + metrics->body;
  }
  if (const auto targets = http_get(prometheus_port, "/api/v1/targets", 10s)) {
    text += "\nPrometheus's targets:\n" + targets->body;
  }
  return text + "\nPrometheus's standard error:\n" + prometheus.error_output();
}

// The promtool commands any copy of deploy/ must pass; they need no privileges.
TEST(WatchPrometheusFiles, AlertRulesTheirUnitTestsAndTheExampleConfigPassPromtool) {
  if (const auto missing = prometheus_missing()) GTEST_SKIP() << *missing;
  const std::vector<std::vector<std::string>> commands = {
      {kPromtool, "check", "rules", source_path("deploy/prometheus/tcpka-alerts.yml")},
      {kPromtool, "test", "rules", source_path("tests/data/prometheus_rules_test.yml")},
      {kPromtool, "check", "config", source_path("deploy/prometheus/scrape-example.yml")},
  };
  for (const auto& argv : commands) {
    const ProcessResult result = run_process(argv, 60s);
    EXPECT_EQ(result.exit_code, 0) << argv[1] << " " << argv[2] << " " << argv[3] << ":\n"
                                   << result.out << result.err;
  }
}

class WatchPrometheus : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "tcpka watch loads BPF programs: needs root";
    if (const auto missing = prometheus_missing()) GTEST_SKIP() << *missing;
  }
};

TEST_F(WatchPrometheus, ScrapesValidMetricsAndCountsAPeerReset) {
  // Declared first, so removed last: after every process that writes in it is gone.
  const TemporaryDirectory directory("tcpka-watch-prometheus");

  SpawnedProcess watch =
      SpawnedProcess::start({TCPKA_BINARY, "watch", "--log", "none", "--metrics", "127.0.0.1:0"});
  const std::optional<WatchReady> ready = wait_for_ready(watch, 30s);
  ASSERT_TRUE(ready) << "no ready line; standard error:\n" << watch.error_output();
  EXPECT_EQ(ready->source, "bpf") << "as root, tcpka watch must load its BPF programs";
  ASSERT_GT(ready->port, 0);

  // The exposition as it is, through promtool's parser and linter.
  const auto metrics = http_get(ready->port, "/metrics", 10s);
  ASSERT_TRUE(metrics) << "no answer on /metrics; standard error:\n" << watch.error_output();
  ASSERT_EQ(metrics->status, 200) << metrics->body;
  EXPECT_NE(metrics->body.find("tcpka_watch_source_info{source=\"" + ready->source + "\"} 1"),
            std::string::npos)
      << metrics->body;
  SpawnedProcess::Options with_input;
  with_input.input = true;
  SpawnedProcess check = SpawnedProcess::start({kPromtool, "check", "metrics"}, with_input);
  check.write_input(metrics->body);
  check.close_input();
  const std::optional<int> check_code = check.wait_exit(30s);
  std::string check_output;
  for (const std::string& line : check.lines())
    check_output += line + "\n";
  EXPECT_EQ(check_code, 0) << check_output << check.error_output() << "\nthe metrics:\n"
                           << metrics->body;

  // A Prometheus of the test's own, scraping tcpka watch every second, with the rules.
  const int prometheus_port = free_port();
  const std::filesystem::path config = directory.path() / "prometheus.yml";
  {
    std::ofstream out(config);
    out << "global:\n"
           "  scrape_interval: 1s\n"
           "  scrape_timeout: 1s\n"
           "  evaluation_interval: 1s\n"
           "rule_files:\n"
           "  - '"
        << source_path("deploy/prometheus/tcpka-alerts.yml")
        << "'\n"
           "scrape_configs:\n"
           "  - job_name: tcpka-watch\n"
           "    static_configs:\n"
           "      - targets: ['127.0.0.1:"
        << ready->port << "']\n";
    ASSERT_TRUE(out.good()) << "cannot write " << config;
  }
  SpawnedProcess prometheus =
      SpawnedProcess::start({kPrometheus, "--config.file=" + config.string(),
                             "--storage.tsdb.path=" + (directory.path() / "data").string(),
                             "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port)});

  const Clock::time_point ready_deadline = Clock::now() + 60s;
  bool prometheus_ready = false;
  while (!prometheus_ready && left_until(ready_deadline).count() > 0 && !has_exited(prometheus)) {
    const auto reply = http_get(prometheus_port, "/-/ready", 5s);
    prometheus_ready = reply && reply->status == 200;
    // Paces the polls, and keeps both pipes drained so that neither process blocks.
    prometheus.read_output(prometheus_ready ? milliseconds(0) : milliseconds(100));
    watch.read_output(milliseconds(0));
  }
  ASSERT_TRUE(prometheus_ready) << "Prometheus not ready within 60 s:\n"
                                << prometheus.error_output();

  // One loopback connection ended by a reset: the accepted end closes with SO_LINGER
  // {1, 0}, which sends RST, and the client's end reads ECONNRESET.
  {
    TcpPair pair = connect_over_loopback(AF_INET);
    const linger abort_on_close{1, 0};
    ASSERT_EQ(::setsockopt(pair.server.get(), SOL_SOCKET, SO_LINGER, &abort_on_close,
                           sizeof(abort_on_close)),
              0)
        << std::strerror(errno);
    pair.server.reset();
    const std::optional<Ending> ending = wait_for_end(pair.client.get(), Clock::now(), 10s);
    ASSERT_TRUE(ending) << "the client's end did not see the reset";
    EXPECT_EQ(ending->error, std::error_code(ECONNRESET, std::generic_category()));
  }

  const std::string resets = "sum(tcpka_watch_connections_closed_total{cause=\"peer_reset\"})";
  const Clock::time_point counted_deadline = Clock::now() + 60s;
  std::optional<double> counted;
  while (!(counted && *counted >= 1) && left_until(counted_deadline).count() > 0) {
    if (const auto result = query(prometheus_port, resets)) counted = first_value(*result);
    prometheus.read_output(milliseconds(100));
    watch.read_output(milliseconds(0));
  }
  ASSERT_TRUE(counted && *counted >= 1)
      << resets << " did not reach 1 within 60 s ("
      << (counted ? std::to_string(*counted) : std::string("no sample")) << ")\n"
      << diagnostics(ready->port, prometheus_port, watch, prometheus);

  const auto source = query(prometheus_port, "tcpka_watch_source_info");
  ASSERT_TRUE(source && !source->empty())
      << "no tcpka_watch_source_info\n"
      << diagnostics(ready->port, prometheus_port, watch, prometheus);
  EXPECT_EQ((*source)[0]["metric"].value("source", ""), ready->source) << source->dump(2);
  EXPECT_EQ((*source)[0]["metric"].value("job", ""), "tcpka-watch") << source->dump(2);
  EXPECT_EQ(first_value(*source), 1.0) << source->dump(2);

  // The rules loaded, and each evaluated on these series without an error.
  const auto rules = http_get(prometheus_port, "/api/v1/rules", 10s);
  ASSERT_TRUE(rules && rules->status == 200) << prometheus.error_output();
  const json answer = json::parse(rules->body, nullptr, false);
  ASSERT_FALSE(answer.is_discarded()) << rules->body;
  const json groups = answer.value("data", json::object()).value("groups", json::array());
  std::size_t alerts = 0;
  for (const json& group : groups) {
    if (group.value("name", "") != "tcpka") continue;
    for (const json& rule : group.value("rules", json::array())) {
      ++alerts;
      EXPECT_NE(rule.value("health", ""), "err")
          << rule.value("name", "") << ": " << rule.value("lastError", "");
    }
  }
  EXPECT_GE(alerts, 5u) << rules->body;
}

}  // namespace
}  // namespace tcpka::testing
