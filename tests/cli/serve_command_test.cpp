// `tcpka serve` run as a user runs it, with real clients on loopback.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
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

Server start_server(const std::vector<std::string>& args, SpawnedProcess::Options options = {}) {
  return start_serve(args, options);
}

// Every blocking call on a test's client gives up after this: a broken server fails a
// test, it never hangs one.
constexpr timeval kSocketTimeout{5, 0};

net::UniqueFd connect_to(int port, const char* source = nullptr) {
  net::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  // SO_SNDTIMEO bounds connect() too.
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &kSocketTimeout, sizeof(kSocketTimeout));
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &kSocketTimeout, sizeof(kSocketTimeout));
  if (source != nullptr) {
    net::SocketAddress from = loopback_address(AF_INET, 0);
    ::inet_pton(AF_INET, source, &reinterpret_cast<sockaddr_in*>(&from.storage)->sin_addr);
    if (::bind(fd.get(), from.get(), from.length) != 0) throw std::runtime_error("bind");
  }
  const net::SocketAddress to = loopback_address(AF_INET, port);
  if (::connect(fd.get(), to.get(), to.length) != 0) {
    throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
  }
  return fd;
}

// The close events the server logged so far (after waiting for `count` of them).
std::vector<nlohmann::json> close_events(Server& server, std::size_t count,
                                         std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (true) {
    std::vector<nlohmann::json> events;
    for (const std::string& line : server.process.lines()) {
      if (line.find("\"close\"") != std::string::npos)
        events.push_back(nlohmann::json::parse(line));
    }
    if (events.size() >= count || std::chrono::steady_clock::now() > deadline) return events;
    server.process.read_output(50ms);
  }
}

nlohmann::json stop_and_summarize(Server& server) {
  server.process.signal(SIGTERM);
  EXPECT_EQ(server.process.wait_exit(20s), 0);
  for (const std::string& line : server.process.lines()) {
    if (line.find("\"summary\"") != std::string::npos) return nlohmann::json::parse(line);
  }
  ADD_FAILURE() << "no summary";
  return {};
}

// Sends `out` and reads as much back, interleaving so that neither side's buffers stall.
std::string exchange(int fd, const std::string& out, std::size_t chunk) {
  std::string in;
  std::size_t sent = 0;
  while (in.size() < out.size()) {
    pollfd ready{fd, static_cast<short>(POLLIN | (sent < out.size() ? POLLOUT : 0)), 0};
    if (::poll(&ready, 1, 10'000) <= 0) break;
    if ((ready.revents & POLLOUT) != 0) {
      const ssize_t n = ::send(fd, out.data() + sent, std::min(chunk, out.size() - sent),
                               MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) sent += static_cast<std::size_t>(n);
    }
    if ((ready.revents & POLLIN) != 0) {
      char buffer[65536];
      const ssize_t n = ::recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
      if (n <= 0) break;
      in.append(buffer, static_cast<std::size_t>(n));
    }
  }
  return in;
}

// serve with a metrics endpoint: the server, and the endpoint's port.
std::pair<Server, int> start_server_with_metrics(std::vector<std::string> args) {
  std::vector<std::string> argv = {TCPKA_BINARY, "serve",       "--listen", "127.0.0.1:0",
                                   "--metrics",  "127.0.0.1:0", "--log",    "json"};
  argv.insert(argv.end(), args.begin(), args.end());
  SpawnedProcess process = SpawnedProcess::start(argv);
  const auto listening = process.wait_for_line("\"listening\"", 10s);
  const auto metrics = process.wait_for_line("\"metrics\"", 10s);
  if (!listening || !metrics) throw std::runtime_error("serve did not start");
  const std::string address = nlohmann::json::parse(*listening)["address"];
  const int metrics_port = port_of(nlohmann::json::parse(*metrics)["address"]);
  return {Server{std::move(process), address, port_of(address)}, metrics_port};
}

// GET /metrics: the status line, and every sample as "name{labels}" -> value.
std::pair<std::string, std::map<std::string, double>> scrape(int metrics_port) {
  net::UniqueFd scraper = connect_to(metrics_port);
  const std::string request = "GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n";
  ::send(scraper.get(), request.data(), request.size(), MSG_NOSIGNAL);
  std::string reply;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = ::recv(scraper.get(), buffer, sizeof(buffer), 0)) > 0)
    reply.append(buffer, static_cast<std::size_t>(n));
  std::map<std::string, double> samples;
  const auto body = reply.find("\r\n\r\n");
  std::istringstream lines(body == std::string::npos ? "" : reply.substr(body + 4));
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const auto space = line.rfind(' ');
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return {reply.substr(0, reply.find("\r\n")), samples};
}

std::string pattern(std::size_t size) {
  std::string bytes(size, '\0');
  for (std::size_t i = 0; i < size; ++i)
    bytes[i] = static_cast<char>('a' + i * 7 % 26);
  return bytes;
}

TEST(Serve, EchoesByteByByteAndMegabytes) {
  Server server = start_server({});
  net::UniqueFd client = connect_to(server.port);
  const int on = 1;
  ::setsockopt(client.get(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
  const std::string small = pattern(4096);
  EXPECT_EQ(exchange(client.get(), small, 1), small);
  const std::string big = pattern(1 << 20);
  EXPECT_EQ(exchange(client.get(), big, 1 << 20), big);
  client.reset();
  const auto events = close_events(server, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["cause"], "peer_closed");
  EXPECT_EQ(events[0]["bytes_in"], small.size() + big.size());
  EXPECT_EQ(events[0]["bytes_out"], small.size() + big.size());
}

TEST(Serve, EchoesOnEveryThread) {
  auto [server, metrics_port] = start_server_with_metrics({"--threads", "3"});
  // SO_REUSEPORT spreads connections by a hash of their addresses: with 64 of them,
  // a worker left without any would take odds of about (2/3)^64.
  std::vector<net::UniqueFd> clients;
  for (int i = 0; i < 64; ++i)
    clients.push_back(connect_to(server.port));
  for (auto& client : clients)
    EXPECT_EQ(exchange(client.get(), "ping", 4), "ping");
  const auto samples = scrape(metrics_port).second;
  double accepted = 0;
  int busy_workers = 0;
  for (int worker = 0; worker < 3; ++worker) {
    const std::string name =
        "tcpka_worker_connections_accepted_total{worker=\"" + std::to_string(worker) + "\"}";
    ASSERT_TRUE(samples.contains(name)) << name;
    accepted += samples.at(name);
    if (samples.at(name) > 0) ++busy_workers;
  }
  EXPECT_EQ(accepted, 64);
  EXPECT_GE(busy_workers, 2) << "the workers do not share the port";
  clients.clear();
  EXPECT_EQ(close_events(server, 64).size(), 64u);
  EXPECT_EQ(stop_and_summarize(server)["accepted"], 64);
}

TEST(Serve, AKilledClientIsPeerClosedWithinASecond) {
  Server server = start_server({"--policy", "10:5:5,ut=auto"});
  // The child tells through a pipe once serve has echoed its byte: then the connection
  // exists for certain, and the clock starts at the kill.
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(ready[0]);
    const net::SocketAddress to = loopback_address(AF_INET, server.port);
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    char byte = 'k';
    if (::connect(fd, to.get(), to.length) == 0 && ::send(fd, &byte, 1, 0) == 1 &&
        ::recv(fd, &byte, 1, 0) == 1 && ::write(ready[1], &byte, 1) == 1) {
      ::pause();
    }
    ::_exit(1);
  }
  ::close(ready[1]);
  pollfd echoed{ready[0], POLLIN, 0};
  const bool connected = ::poll(&echoed, 1, 5'000) == 1;
  ::close(ready[0]);
  if (!connected) {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    FAIL() << "the child never got its echo";
  }
  const auto killed = std::chrono::steady_clock::now();
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  const auto events = close_events(server, 1, 5s);
  const auto seen = std::chrono::steady_clock::now() - killed;
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["cause"], "peer_closed");
  EXPECT_LT(seen, 1s);
}

TEST(Serve, KeepaliveFindsASilentClient) {
  Server server = start_server({"--policy", "idle=1s,intvl=1s,cnt=2"});
  net::UniqueFd client = connect_to(server.port);
  EXPECT_EQ(exchange(client.get(), "x", 1), "x");
  silence(client.get());
  const auto events = close_events(server, 1, 10s);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["cause"], "keepalive_timeout");
  EXPECT_EQ(events[0]["errno"], "ETIMEDOUT");
  EXPECT_EQ(events[0]["probes"], 2);
  EXPECT_GE(events[0]["since_last_received_ms"].get<int>(), 3'000);
}

TEST(Serve, IdleConnectionsAreClosed) {
  Server server = start_server({"--idle-timeout", "300ms"});
  net::UniqueFd quiet = connect_to(server.port);
  const auto events = close_events(server, 1, 5s);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["cause"], "idle_timeout");
  EXPECT_GE(events[0]["since_last_received_ms"].get<int>(), 300);
  char byte = 0;
  EXPECT_EQ(::recv(quiet.get(), &byte, 1, 0), 0);  // the client sees the close
}

TEST(Serve, ASlowReaderIsClosedAndMemoryStaysBounded) {
  Server server = start_server({"--max-buffer", "64KiB", "--slow-reader-grace", "4s"});
  const std::uint64_t before = server.process.resident_bytes();
  net::UniqueFd client = connect_to(server.port);
  // Write without ever reading, until neither the server nor the kernel takes more;
  // memory is measured while the slow reader is still connected (the grace is longer).
  const std::string chunk(1 << 16, 'x');
  std::uint64_t written = 0;
  const auto deadline = std::chrono::steady_clock::now() + 2500ms;
  while (std::chrono::steady_clock::now() < deadline) {
    const ssize_t n = ::send(client.get(), chunk.data(), chunk.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      written += static_cast<std::uint64_t>(n);
    } else {
      std::this_thread::sleep_for(10ms);
    }
  }
  const std::uint64_t during = server.process.resident_bytes();
  server.process.read_output(10ms);
  for (const std::string& line : server.process.lines())
    ASSERT_EQ(line.find("\"close\""), std::string::npos) << "closed before it was measured";
  EXPECT_GT(written, 1u << 20);
  EXPECT_LT(during - std::min(during, before), 8u << 20)
      << "server memory grew with its peer's backlog";
  const auto events = close_events(server, 1, 5s);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["cause"], "slow_reader");
}

// The bound holds even below one read's size: what is pending when a slow reader is
// closed (bytes in less bytes out) never exceeds --max-buffer.
TEST(Serve, ASmallMaxBufferIsABound) {
  Server server = start_server({"--max-buffer", "1KiB", "--slow-reader-grace", "200ms"});
  net::UniqueFd client = connect_to(server.port);
  const std::string chunk(1 << 16, 'x');
  const auto deadline = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::send(client.get(), chunk.data(), chunk.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
      std::this_thread::sleep_for(10ms);
    }
  }
  const auto events = close_events(server, 1, 5s);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["cause"], "slow_reader");
  const auto pending =
      events[0]["bytes_in"].get<std::int64_t>() - events[0]["bytes_out"].get<std::int64_t>();
  EXPECT_GT(pending, 0);
  EXPECT_LE(pending, 1024);
}

TEST(Serve, RefusesBeyondMaxConns) {
  Server server = start_server({"--max-conns", "2"});
  net::UniqueFd a = connect_to(server.port);
  net::UniqueFd b = connect_to(server.port);
  EXPECT_EQ(exchange(a.get(), "a", 1), "a");
  EXPECT_EQ(exchange(b.get(), "b", 1), "b");
  net::UniqueFd c = connect_to(server.port);
  char byte = 0;
  EXPECT_EQ(::recv(c.get(), &byte, 1, 0), 0);  // accepted by the kernel, closed by serve
  const auto summary = stop_and_summarize(server);
  EXPECT_EQ(summary["refused_max_conns"], 1);
  EXPECT_EQ(summary["accepted"], 2);
}

TEST(Serve, RefusesBeyondPerIp) {
  Server server = start_server({"--per-ip", "1"});
  net::UniqueFd first = connect_to(server.port, "127.0.0.1");
  EXPECT_EQ(exchange(first.get(), "1", 1), "1");
  net::UniqueFd second = connect_to(server.port, "127.0.0.1");
  char byte = 0;
  EXPECT_EQ(::recv(second.get(), &byte, 1, 0), 0);
  net::UniqueFd other = connect_to(server.port, "127.0.0.2");
  EXPECT_EQ(exchange(other.get(), "2", 1), "2");
  const auto summary = stop_and_summarize(server);
  EXPECT_EQ(summary["refused_per_ip"], 1);
  EXPECT_EQ(summary["accepted"], 2);
}

TEST(Serve, OutOfDescriptorsNeitherSpinsNorCrashes) {
  Server server = start_server({}, SpawnedProcess::Options{64});
  std::vector<net::UniqueFd> clients;
  for (int i = 0; i < 150; ++i) {
    try {
      clients.push_back(connect_to(server.port));
    } catch (const std::exception& e) {
      server.process.read_output(100ms);
      FAIL() << "client " << i << ": " << e.what()
             << "; server alive: " << (::kill(server.process.pid(), 0) == 0)
             << "; its stderr: " << server.process.error_output();
    }
  }
  std::this_thread::sleep_for(300ms);
  const auto cpu_before = server.process.cpu_time();
  std::this_thread::sleep_for(1s);
  const auto cpu_used = server.process.cpu_time() - cpu_before;
  EXPECT_LT(cpu_used, 200ms) << "the server spins when out of descriptors";
  clients.clear();
  std::this_thread::sleep_for(300ms);
  net::UniqueFd again;
  try {
    again = connect_to(server.port);
  } catch (const std::exception& e) {
    server.process.read_output(100ms);
    FAIL() << e.what() << "; server alive: " << (::kill(server.process.pid(), 0) == 0)
           << "; its stderr: " << server.process.error_output();
  }
  EXPECT_EQ(exchange(again.get(), "back", 4), "back");
  const auto summary = stop_and_summarize(server);
  EXPECT_GT(summary["dropped_out_of_fds"].get<int>(), 0);
}

TEST(Serve, ShutdownClosesEverythingAndSummarizes) {
  Server server = start_server({});
  net::UniqueFd a = connect_to(server.port);
  net::UniqueFd b = connect_to(server.port);
  EXPECT_EQ(exchange(a.get(), "hello", 5), "hello");
  EXPECT_EQ(exchange(b.get(), "x", 1), "x");
  const auto summary = stop_and_summarize(server);
  EXPECT_EQ(summary["accepted"], 2);
  EXPECT_EQ(summary["open"], 0);
  EXPECT_EQ(summary["closed_by_cause"]["local"], 2);
  EXPECT_EQ(summary["bytes_in"], 6);
}

TEST(Serve, MetricsEndpointSpeaksPrometheus) {
  auto [server, metrics_port] = start_server_with_metrics({});
  net::UniqueFd client = connect_to(server.port);
  EXPECT_EQ(exchange(client.get(), "abc", 3), "abc");
  const auto [status, samples] = scrape(metrics_port);
  ASSERT_EQ(status, "HTTP/1.1 200 OK");
  EXPECT_EQ(samples.at("tcpka_connections_open"), 1);
  EXPECT_EQ(samples.at("tcpka_connections_accepted_total"), 1);
  EXPECT_EQ(samples.at("tcpka_received_bytes_total"), 3);
  EXPECT_EQ(samples.at("tcpka_connections_closed_total{cause=\"peer_closed\"}"), 0);
}

// Clients that connect and say nothing must not lock scrapers out: the newest pushes out
// the oldest, and each has a deadline.
TEST(Serve, IdleMetricsClientsDoNotBlockScraping) {
  auto [server, metrics_port] = start_server_with_metrics({});
  std::vector<net::UniqueFd> silent;
  for (int i = 0; i < 100; ++i)
    silent.push_back(connect_to(metrics_port));
  const auto [status, samples] = scrape(metrics_port);
  EXPECT_EQ(status, "HTTP/1.1 200 OK");
  EXPECT_EQ(samples.at("tcpka_connections_open"), 0);
}

// A log reader that stops reading (a full stdout pipe) must not stop the echo.
TEST(Serve, AStuckLogDoesNotStopTheServer) {
  Server server = start_server({});
  // Each close logs ~250 bytes; 600 of them overflow the 64 KiB pipe nobody reads now.
  for (int i = 0; i < 600; ++i) {
    net::UniqueFd client = connect_to(server.port);
    ASSERT_EQ(exchange(client.get(), "x", 1), "x") << "connection " << i;
  }
  net::UniqueFd after = connect_to(server.port);
  EXPECT_EQ(exchange(after.get(), "still", 5), "still");
  server.process.signal(SIGTERM);
  EXPECT_EQ(server.process.wait_exit(10s), 0);
}

TEST(Serve, ListensOnSeveralAddressesIpv4AndIpv6) {
  SpawnedProcess process = SpawnedProcess::start(
      {TCPKA_BINARY, "serve", "--listen", "127.0.0.1:0", "--listen", "[::1]:0", "--log", "json"});
  const auto v4 = process.wait_for_line("127.0.0.1:", 10s);
  const auto v6 = process.wait_for_line("[::1]:", 10s);
  ASSERT_TRUE(v4 && v6) << process.error_output();
  for (const auto& [family, line] : {std::pair{AF_INET, *v4}, std::pair{AF_INET6, *v6}}) {
    const int port = port_of(nlohmann::json::parse(line)["address"]);
    net::UniqueFd client(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    const net::SocketAddress to = loopback_address(family, port);
    ASSERT_EQ(::connect(client.get(), to.get(), to.length), 0);
    EXPECT_EQ(exchange(client.get(), "both", 4), "both");
  }
}

TEST(Serve, PrintsCountersOnSighupAndPeriodically) {
  Server server = start_server({"--stats-every", "200ms"});
  net::UniqueFd client = connect_to(server.port);
  EXPECT_EQ(exchange(client.get(), "count me", 8), "count me");
  const auto periodic = server.process.wait_for_line("\"bytes_in\":8", 5s);
  ASSERT_TRUE(periodic.has_value());
  EXPECT_EQ(nlohmann::json::parse(*periodic)["open"], 1);

  Server quiet = start_server({});
  quiet.process.signal(SIGHUP);
  const auto on_demand = quiet.process.wait_for_line("\"summary\"", 5s);
  ASSERT_TRUE(on_demand.has_value());
  EXPECT_EQ(nlohmann::json::parse(*on_demand)["accepted"], 0);
  // SIGHUP prints; it does not stop the server.
  net::UniqueFd still = connect_to(quiet.port);
  EXPECT_EQ(exchange(still.get(), "up", 2), "up");
}

TEST(Serve, BadInputGetsOneLineAndExitTwo) {
  const std::vector<std::vector<std::string>> cases = {
      {"--listen", "nowhere"},   {"--listen", "127.0.0.1:99999"}, {"--threads", "0"},
      {"--max-buffer", "0"},     {"--max-buffer", "lots"},        {"--log", "loud"},
      {"--idle-timeout", "1ms"}, {"--policy", "idle=0"},          {"--user-timeout", "30000"},
      {"--stats-every", "1ms"},  {"--metrics", "bogus"},
  };
  for (const auto& args : cases) {
    std::vector<std::string> argv = {TCPKA_BINARY, "serve"};
    argv.insert(argv.end(), args.begin(), args.end());
    const auto result = run_process(argv, 10s);
    EXPECT_EQ(result.exit_code, 2) << args[0] << " " << args[1] << ": " << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  }
}

TEST(Serve, APortInUseIsBadInput) {
  auto taken = listen_on_loopback(AF_INET);
  const std::string address = "127.0.0.1:" + std::to_string(local_port(taken.get()));
  const auto result = run_process({TCPKA_BINARY, "serve", "--listen", address}, 10s);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("Address already in use"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace tcpka
