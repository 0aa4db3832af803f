// `tcpka serve` run as a user runs it, with real clients on loopback.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "running_serve.h"
#include "support/bad_input.h"
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

// Bounds every blocking call on `fd`: SO_SNDTIMEO bounds connect() too. (Async-signal
// safe: a forked child may call it.)
bool bound_blocking_calls(int fd) {
  return ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &kSocketTimeout, sizeof(kSocketTimeout)) == 0 &&
         ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &kSocketTimeout, sizeof(kSocketTimeout)) == 0;
}

net::UniqueFd connect_to(int port, const char* source = nullptr) {
  net::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd || !bound_blocking_calls(fd.get())) throw std::runtime_error("socket");
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
                                         std::chrono::milliseconds limit = 30s) {
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
// Gives up after 30 s in all (a server that echoes a byte now and then cannot stretch it).
std::string exchange(int fd, const std::string& out, std::size_t chunk) {
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  std::string in;
  std::size_t sent = 0;
  while (in.size() < out.size()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd ready{fd, static_cast<short>(POLLIN | (sent < out.size() ? POLLOUT : 0)), 0};
    if (left.count() <= 0 || ::poll(&ready, 1, static_cast<int>(left.count())) <= 0) break;
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
  const auto listening = process.wait_for_line("\"listening\"", kServeStartLimit);
  const auto metrics = process.wait_for_line("\"metrics\"", kServeStartLimit);
  if (!listening || !metrics) throw std::runtime_error("serve did not start");
  const std::string address = nlohmann::json::parse(*listening)["address"];
  const int metrics_port = port_of(nlohmann::json::parse(*metrics)["address"]);
  return {Server{std::move(process), address, port_of(address)}, metrics_port};
}

// GET /metrics: the status line, and every sample as "name{labels}" -> value. The reply
// is read until the server closes, for 10 s at most.
std::pair<std::string, std::map<std::string, double>> scrape(int metrics_port) {
  net::UniqueFd scraper = connect_to(metrics_port);
  const std::string request = "GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n";
  if (::send(scraper.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return {"(request not sent)", {}};
  }
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  std::string reply;
  char buffer[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd readable{scraper.get(), POLLIN, 0};
    if (left.count() <= 0 || ::poll(&readable, 1, static_cast<int>(left.count())) <= 0) break;
    const ssize_t n = ::recv(scraper.get(), buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n <= 0) break;
    reply.append(buffer, static_cast<std::size_t>(n));
  }
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

// Each worker has its own listener on the port (SO_REUSEPORT); the per-worker counters
// in --metrics tell which worker accepted what.
TEST(Serve, EchoesOnEveryThread) {
  constexpr int kWorkers = 3;
  auto [server, metrics_port] = start_server_with_metrics({"--threads", std::to_string(kWorkers)});
  // The kernel picks a listener by a hash of each connection's addresses, and every
  // client here has its own source port: 64 of them all landing on one worker would take
  // odds of 3 * (1/3)^64.
  std::vector<net::UniqueFd> clients;
  for (int i = 0; i < 64; ++i)
    clients.push_back(connect_to(server.port));
  for (auto& client : clients)
    EXPECT_EQ(exchange(client.get(), "ping", 4), "ping");
  const auto [status, samples] = scrape(metrics_port);
  ASSERT_EQ(status, "HTTP/1.1 200 OK");
  const std::string prefix = "tcpka_worker_connections_accepted_total{";
  const auto per_worker = std::count_if(samples.begin(), samples.end(), [&](const auto& sample) {
    return sample.first.rfind(prefix, 0) == 0;
  });
  EXPECT_EQ(per_worker, kWorkers) << "one line per worker";
  double accepted = 0;
  int busy_workers = 0;
  for (int worker = 0; worker < kWorkers; ++worker) {
    const std::string name = prefix + "worker=\"" + std::to_string(worker) + "\"}";
    ASSERT_TRUE(samples.contains(name)) << name;
    accepted += samples.at(name);
    if (samples.at(name) > 0) ++busy_workers;
  }
  EXPECT_EQ(accepted, 64);
  EXPECT_EQ(accepted, samples.at("tcpka_connections_accepted_total"));
  EXPECT_GE(busy_workers, 2) << "one worker accepted everything: the others do not listen";
  clients.clear();
  EXPECT_EQ(close_events(server, 64).size(), 64u);
  EXPECT_EQ(stop_and_summarize(server)["accepted"], 64);
}

TEST(Serve, AKilledClientIsPeerClosedWithinASecond) {
  Server server = start_server({"--policy", "10:5:5,ut=auto"});
  // The child tells through a pipe once serve has echoed its byte: then the connection
  // exists for certain, and the clock starts at the kill.
  int ready[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  const net::SocketAddress to = loopback_address(AF_INET, server.port);
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Async-signal-safe calls only. It dies with the test, and its calls time out.
    ::close(ready[0]);
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    char byte = 'k';
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) == 0 && ::getppid() == parent && fd >= 0 &&
        bound_blocking_calls(fd) && ::connect(fd, to.get(), to.length) == 0 &&
        ::send(fd, &byte, 1, 0) == 1 && ::recv(fd, &byte, 1, 0) == 1 &&
        ::write(ready[1], &byte, 1) == 1) {
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
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  // Without keepalive nothing but the FIN can tell: how soon it comes is the scheduler's
  // business (bench/, not a test), that it is the FIN is the point.
  const auto events = close_events(server, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["cause"], "peer_closed");
}

TEST(Serve, KeepaliveFindsASilentClient) {
  Server server = start_server({"--policy", "idle=1s,intvl=1s,cnt=2"});
  net::UniqueFd client = connect_to(server.port);
  EXPECT_EQ(exchange(client.get(), "x", 1), "x");
  silence(client.get());
  const auto events = close_events(server, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["cause"], "keepalive_timeout");
  EXPECT_EQ(events[0]["errno"], "ETIMEDOUT");
  EXPECT_EQ(events[0]["probes"], 2);
  // idle + 2 probes = 3 s, which the kernel counts in jiffies (up to 10 ms each).
  EXPECT_GE(events[0]["since_last_received_ms"].get<int>(), 3'000 - 20);
}

TEST(Serve, IdleConnectionsAreClosed) {
  Server server = start_server({"--idle-timeout", "300ms"});
  net::UniqueFd quiet = connect_to(server.port);
  const auto events = close_events(server, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["cause"], "idle_timeout");
  EXPECT_GE(events[0]["since_last_received_ms"].get<int>(), 300);
  char byte = 0;
  EXPECT_EQ(::recv(quiet.get(), &byte, 1, 0), 0);  // the client sees the close
}

// The most a peer's data can sit in the kernel's buffers on one loopback connection:
// the client's send and receive buffers and the server's, each at the largest size
// autotuning or setsockopt may give it.
std::uint64_t kernel_buffering_limit() {
  const auto read_numbers = [](const char* path) {
    std::ifstream file(path);
    std::vector<std::uint64_t> numbers;
    std::uint64_t number = 0;
    while (file >> number)
      numbers.push_back(number);
    return numbers;
  };
  const auto tcp_rmem = read_numbers("/proc/sys/net/ipv4/tcp_rmem");
  const auto tcp_wmem = read_numbers("/proc/sys/net/ipv4/tcp_wmem");
  const auto rmem_max = read_numbers("/proc/sys/net/core/rmem_max");
  const auto wmem_max = read_numbers("/proc/sys/net/core/wmem_max");
  // Unreadable: assume generous buffers (the offer only grows with this).
  const std::uint64_t receive = std::max(tcp_rmem.size() == 3 ? tcp_rmem[2] : 64u << 20,
                                         rmem_max.size() == 1 ? 2 * rmem_max[0] : 64u << 20);
  const std::uint64_t send = std::max(tcp_wmem.size() == 3 ? tcp_wmem[2] : 64u << 20,
                                      wmem_max.size() == 1 ? 2 * wmem_max[0] : 64u << 20);
  return 2 * (receive + send);
}

// Sends up to `offer` bytes on `fd` and never reads: stops when nothing more goes for
// `stall` (the peer stopped taking it), when the connection fails, or at `limit`.
// Returns the bytes sent.
std::uint64_t push_without_reading(int fd, std::uint64_t offer, std::chrono::milliseconds stall,
                                   std::chrono::milliseconds limit) {
  static const std::string chunk(1 << 20, 'x');
  const auto deadline = std::chrono::steady_clock::now() + limit;
  std::uint64_t sent = 0;
  while (sent < offer) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd writable{fd, POLLOUT, 0};
    if (left.count() <= 0 ||
        ::poll(&writable, 1, static_cast<int>(std::min(left, stall).count())) <= 0 ||
        (writable.revents & (POLLERR | POLLHUP)) != 0) {
      break;
    }
    const std::size_t size =
        static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), offer - sent));
    const ssize_t n = ::send(fd, chunk.data(), size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<std::uint64_t>(n);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
      break;
    }
  }
  return sent;
}

// A client that sends and never reads must not make the server buffer what it sends:
// measured while that slow reader is still connected (the grace outlasts the test).
TEST(Serve, MemoryStaysBoundedWhileASlowReaderIsConnected) {
  Server server = start_server({"--max-buffer", "64KiB", "--slow-reader-grace", "1m"});
  const std::uint64_t before = server.process.resident_bytes();
  ASSERT_GT(before, 0u) << "cannot read serve's VmRSS";
  net::UniqueFd client = connect_to(server.port);
  // Offered: far more than the kernel can hold. A server that buffers for its peer takes
  // it all (loopback moves it in well under a second) and grows by tens of MiB; one that
  // keeps to --max-buffer stops reading, the kernel's buffers fill, and sends stall.
  const std::uint64_t offered =
      std::max<std::uint64_t>(64u << 20, kernel_buffering_limit() + (32u << 20));
  const std::uint64_t pushed = push_without_reading(client.get(), offered, 500ms, 5s);
  // Its memory, at its largest over a second with the slow reader connected and stuck.
  std::uint64_t peak = 0;
  for (int sample = 0; sample < 10; ++sample) {
    peak = std::max(peak, server.process.resident_bytes());
    std::this_thread::sleep_for(100ms);
  }
  server.process.read_output(0ms);
  for (const std::string& line : server.process.lines())
    ASSERT_EQ(line.find("\"close\""), std::string::npos) << "closed before it was measured";
  EXPECT_GT(pushed, 64u << 10) << "nothing could be sent";
  EXPECT_LT(pushed, offered) << "the server took everything its peer sent";
  EXPECT_LT(peak - std::min(peak, before), 8u << 20)
      << "server memory followed its peer's backlog: " << pushed << " bytes pushed, from " << before
      << " to " << peak << " bytes resident";
  // What the server itself counts as pending when the peer gives up stays within the bound.
  client.reset();
  const auto events = close_events(server, 1);
  ASSERT_EQ(events.size(), 1u);
  const auto pending =
      events[0]["bytes_in"].get<std::int64_t>() - events[0]["bytes_out"].get<std::int64_t>();
  EXPECT_LE(pending, 64 << 10);
}

// A peer that stays stuck for longer than the grace is closed as a slow reader.
TEST(Serve, ASlowReaderIsClosed) {
  Server server = start_server({"--max-buffer", "64KiB", "--slow-reader-grace", "300ms"});
  net::UniqueFd client = connect_to(server.port);
  // Sends until serve closes it (the failing send ends the push) or nothing goes.
  push_without_reading(client.get(), 256u << 20, 2s, 5s);
  const auto events = close_events(server, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["cause"], "slow_reader");
  const auto pending =
      events[0]["bytes_in"].get<std::int64_t>() - events[0]["bytes_out"].get<std::int64_t>();
  EXPECT_GT(pending, 0);
  EXPECT_LE(pending, 64 << 10);
}

// The bound holds even below one read's size: what is pending when a slow reader is
// closed (bytes in less bytes out) never exceeds --max-buffer.
TEST(Serve, ASmallMaxBufferIsABound) {
  Server server = start_server({"--max-buffer", "1KiB", "--slow-reader-grace", "200ms"});
  net::UniqueFd client = connect_to(server.port);
  push_without_reading(client.get(), 256u << 20, 2s, 5s);
  const auto events = close_events(server, 1);
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
  // Out of descriptors once it says so; its CPU is then measured over a second of that.
  ASSERT_TRUE(server.process.wait_for_line("out of file descriptors", 30s))
      << server.process.error_output();
  const auto cpu_before = server.process.cpu_time();
  std::this_thread::sleep_for(1s);
  const auto cpu_used = server.process.cpu_time() - cpu_before;
  EXPECT_LT(cpu_used, 200ms) << "the server spins when out of descriptors";
  // It serves again once it has closed what the clients closed: tried until it does.
  clients.clear();
  std::string echoed;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (echoed != "back" && std::chrono::steady_clock::now() < deadline) {
    try {
      net::UniqueFd again = connect_to(server.port);
      echoed = exchange(again.get(), "back", 4);
    } catch (const std::exception& e) {
      echoed = e.what();
    }
  }
  EXPECT_EQ(echoed, "back") << "server alive: " << (::kill(server.process.pid(), 0) == 0)
                            << "; its stderr: " << server.process.error_output();
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
  EXPECT_EQ(server.process.wait_exit(30s), 0);
}

TEST(Serve, ListensOnSeveralAddressesIpv4AndIpv6) {
  SpawnedProcess process = SpawnedProcess::start(
      {TCPKA_BINARY, "serve", "--listen", "127.0.0.1:0", "--listen", "[::1]:0", "--log", "json"});
  const auto v4 = process.wait_for_line("127.0.0.1:", kServeStartLimit);
  const auto v6 = process.wait_for_line("[::1]:", kServeStartLimit);
  ASSERT_TRUE(v4 && v6) << process.error_output();
  for (const auto& [family, line] : {std::pair{AF_INET, *v4}, std::pair{AF_INET6, *v6}}) {
    const int port = port_of(nlohmann::json::parse(line)["address"]);
    net::UniqueFd client(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(client.valid() && bound_blocking_calls(client.get()));
    const net::SocketAddress to = loopback_address(family, port);
    ASSERT_EQ(::connect(client.get(), to.get(), to.length), 0);
    EXPECT_EQ(exchange(client.get(), "both", 4), "both");
  }
}

TEST(Serve, PrintsCountersOnSighupAndPeriodically) {
  Server server = start_server({"--stats-every", "200ms"});
  net::UniqueFd client = connect_to(server.port);
  EXPECT_EQ(exchange(client.get(), "count me", 8), "count me");
  const auto periodic = server.process.wait_for_line("\"bytes_in\":8", 30s);
  ASSERT_TRUE(periodic.has_value());
  EXPECT_EQ(nlohmann::json::parse(*periodic)["open"], 1);

  Server quiet = start_server({});
  quiet.process.signal(SIGHUP);
  const auto on_demand = quiet.process.wait_for_line("\"summary\"", 30s);
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
  expect_bad_input(TCPKA_BINARY, "serve", cases);
}

TEST(Serve, APortInUseIsBadInput) {
  auto taken = listen_on_loopback(AF_INET);
  const std::string address = "127.0.0.1:" + std::to_string(local_port(taken.get()));
  const auto result = run_process({TCPKA_BINARY, "serve", "--listen", address}, 30s);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("Address already in use"), std::string::npos) << result.err;
}

// Whether process `pid` is gone: no longer there, or a zombie nobody reaped yet.
bool gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const std::size_t name_end = content.rfind(')');
  return name_end == std::string::npos || content.size() < name_end + 3 ||
         content[name_end + 2] == 'Z' || content[name_end + 2] == 'X';
}

// A test that crashes runs no destructor; the serve it started must go with it, not
// stay behind holding a port. Here the "test" is a forked child that kills itself.
TEST(Serve, DoesNotOutliveATestThatCrashes) {
  int report[2];
  ASSERT_EQ(::pipe2(report, O_CLOEXEC), 0);
  const pid_t test = ::fork();
  ASSERT_GE(test, 0);
  if (test == 0) {
    ::close(report[0]);
    try {
      Server doomed = start_server({});
      const pid_t pid = doomed.process.pid();
      if (::write(report[1], &pid, sizeof(pid)) == sizeof(pid)) ::kill(::getpid(), SIGKILL);
    } catch (...) {
    }
    ::_exit(1);
  }
  ::close(report[1]);
  pid_t serve = -1;
  pollfd told{report[0], POLLIN, 0};
  const bool started = ::poll(&told, 1, 15'000) == 1 &&
                       ::read(report[0], &serve, sizeof(serve)) == sizeof(serve) && serve > 0;
  ::close(report[0]);
  ::kill(test, SIGKILL);  // it is dead already unless something went wrong
  ::waitpid(test, nullptr, 0);
  ASSERT_TRUE(started) << "the crashing test could not start serve";
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (!gone(serve) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  const bool outlived = !gone(serve);
  if (outlived) ::kill(serve, SIGKILL);  // not ours to reap: its parent is gone
  EXPECT_FALSE(outlived) << "serve (pid " << serve << ") outlived the test that started it";
}

}  // namespace
}  // namespace tcpka
