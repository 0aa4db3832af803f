// `tcpka serve --metrics` against clients that are not scrapers: slow ones, malformed
// ones, huge ones. Each gets an answer or a close, never a hang; serve's memory stays
// bounded; and a real scraper keeps being answered throughout.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "running_serve.h"
#include "support/loopback.h"
#include "support/spawned_process.h"

namespace tcpka {
namespace {

using namespace testing;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

// What serve promises a waiting client (MetricsEndpoint): it is closed after 5 s, and
// no more than 64 wait at once.
constexpr auto kClientDeadline = 5s;
constexpr int kMaxClients = 64;

// serve with its metrics endpoint, and that endpoint's port.
struct MetricsServe {
  RunningServe serve;
  int port = 0;
};

// Under AddressSanitizer, freed memory waits in a quarantine (256 MiB by default) before
// it is used again, so a process's RSS follows all it ever allocated rather than what it
// holds. A serve whose memory is measured starts with the quarantine off; builds without
// ASan ignore the variable.
class QuarantineOffForChildren {
 public:
  QuarantineOffForChildren() {
    const char* before = std::getenv("ASAN_OPTIONS");
    if (before != nullptr) before_ = before;
    const std::string options =
        before_ ? *before_ + ":quarantine_size_mb=0" : "quarantine_size_mb=0";
    ::setenv("ASAN_OPTIONS", options.c_str(), 1);
  }
  ~QuarantineOffForChildren() {
    if (before_) {
      ::setenv("ASAN_OPTIONS", before_->c_str(), 1);
    } else {
      ::unsetenv("ASAN_OPTIONS");
    }
  }
  QuarantineOffForChildren(const QuarantineOffForChildren&) = delete;
  QuarantineOffForChildren& operator=(const QuarantineOffForChildren&) = delete;

 private:
  std::optional<std::string> before_;
};

enum class Memory { not_measured, measured };

MetricsServe start_metrics_serve(Memory memory = Memory::not_measured) {
  std::optional<QuarantineOffForChildren> quarantine_off;
  if (memory == Memory::measured) quarantine_off.emplace();
  RunningServe serve = start_serve({"--metrics", "127.0.0.1:0"});
  const auto line = serve.process.wait_for_line("\"metrics\"", 10s);
  if (!line) throw std::runtime_error("no metrics address: " + serve.process.error_output());
  const int port = port_of(nlohmann::json::parse(*line)["address"]);
  return {std::move(serve), port};
}

milliseconds left_until(Clock::time_point deadline) {
  return std::max(milliseconds(0),
                  std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
}

// A non-blocking client socket, connecting (or connected) to 127.0.0.1:port.
net::UniqueFd start_connect(int port) {
  net::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw std::runtime_error("socket");
  const net::SocketAddress to = loopback_address(AF_INET, port);
  if (::connect(fd.get(), to.get(), to.length) != 0 && errno != EINPROGRESS) {
    throw std::runtime_error(std::string("connect: ") + std::strerror(errno));
  }
  return fd;
}

// How the server ended an exchange, and what it said first.
struct Outcome {
  enum class End { closed, reset, still_open };
  std::string reply;
  End end = End::still_open;
  std::size_t sent = 0;

  std::string status() const { return reply.substr(0, reply.find("\r\n")); }
  std::string body() const {
    const auto head_end = reply.find("\r\n\r\n");
    return head_end == std::string::npos ? "" : reply.substr(head_end + 4);
  }
};

// Sends `request` (as much as serve takes) while reading what comes back, until serve
// ends the connection or `limit` passes.
Outcome send_and_read(int port, std::string_view request, milliseconds limit = 30s) {
  const net::UniqueFd fd = start_connect(port);
  const auto deadline = Clock::now() + limit;
  Outcome outcome;
  bool sending = true;
  while (true) {
    pollfd ready{fd.get(), static_cast<short>(POLLIN | (sending ? POLLOUT : 0)), 0};
    if (::poll(&ready, 1, static_cast<int>(left_until(deadline).count())) <= 0) return outcome;
    if (sending && (ready.revents & POLLOUT) != 0) {
      const std::size_t size = std::min<std::size_t>(request.size() - outcome.sent, 256 << 10);
      const ssize_t n = ::send(fd.get(), request.data() + outcome.sent, size, MSG_NOSIGNAL);
      if (n > 0) outcome.sent += static_cast<std::size_t>(n);
      // Refused further bytes (serve answered and closed) or all sent: only read now.
      if ((n < 0 && errno != EAGAIN) || outcome.sent == request.size()) sending = false;
    }
    if ((ready.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      char buffer[16384];
      const ssize_t n = ::recv(fd.get(), buffer, sizeof(buffer), 0);
      if (n > 0) {
        outcome.reply.append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0) {
        outcome.end = Outcome::End::closed;
        return outcome;
      } else if (errno != EAGAIN) {
        outcome.end = Outcome::End::reset;
        return outcome;
      }
    }
  }
}

std::string_view scrape_request() {
  return "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n\r\n";
}

// A scrape that must succeed within `limit`: the status line, or why not.
std::string scrape(int port, milliseconds limit = 10s) {
  const Outcome outcome = send_and_read(port, scrape_request(), limit);
  if (outcome.end == Outcome::End::still_open) return "(no answer within the limit)";
  if (outcome.body().find("tcpka_connections_open ") == std::string::npos) {
    return "(no exposition: " + outcome.reply.substr(0, 80) + ")";
  }
  return outcome.status();
}

TEST(MetricsEndpoint, AnswersEveryRequestThatIsNotAScrapeAndKeepsScraping) {
  MetricsServe metrics = start_metrics_serve();
  const std::string huge_line =
      "GET /metrics HTTP/1.1\r\nX-Huge: " + std::string(100 << 10, 'a') + "\r\n\r\n";
  const std::string long_target = "GET /" + std::string(10'000, 'm') + " HTTP/1.1\r\n\r\n";
  std::string binary(4096, '\0');
  for (std::size_t i = 0; i < binary.size(); ++i)
    binary[i] = static_cast<char>(i * 131 + 7);
  binary[0] = '\x16';  // as a TLS ClientHello starts
  std::string many_fields = "GET /metrics HTTP/1.1\r\n";
  while (many_fields.size() < (2u << 20))
    many_fields += "X-Field: value\r\n";
  many_fields += "\r\n";
  const struct {
    const char* what;
    std::string request;
    const char* status;
  } cases[] = {
      {"binary garbage", binary, "HTTP/1.1 400 Bad Request"},
      {"HTTP/0.9", "GET /metrics\r\n", "HTTP/1.1 400 Bad Request"},
      {"a NUL in a field", std::string("GET /metrics HTTP/1.1\r\nHost: a\0b\r\n\r\n", 37),
       "HTTP/1.1 400 Bad Request"},
      {"a 100 KiB field line", huge_line, "HTTP/1.1 431 Request Header Fields Too Large"},
      {"a 10 KB request line", long_target, "HTTP/1.1 431 Request Header Fields Too Large"},
      {"2 MiB of fields", many_fields, "HTTP/1.1 431 Request Header Fields Too Large"},
      {"4 MiB of one token", std::string(4u << 20, 'a'),
       "HTTP/1.1 431 Request Header Fields Too Large"},
      {"an unknown path", "GET /favicon.ico HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found"},
      {"POST", "POST /metrics HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi",
       "HTTP/1.1 405 Method Not Allowed"},
      {"DELETE", "DELETE /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 405 Method Not Allowed"},
      {"HTTP/2's preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
       "HTTP/1.1 505 HTTP Version Not Supported"},
      {"HEAD", "HEAD /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK"},
      {"a query", "GET /metrics?name[]=x HTTP/1.1\r\n\r\n", "HTTP/1.1 200 OK"},
  };
  for (const auto& c : cases) {
    const Outcome outcome = send_and_read(metrics.port, c.request);
    ASSERT_NE(outcome.end, Outcome::End::still_open)
        << c.what << ": serve neither answered nor closed";
    // A client still sending when serve closes gets a reset, but on loopback the answer
    // sent before it is already in the client's receive queue, which Linux reads first.
    EXPECT_EQ(outcome.status(), c.status) << c.what;
    if (std::string_view(c.what) == "HEAD") {
      EXPECT_EQ(outcome.body(), "") << "HEAD has no body";
    }
    ASSERT_EQ(scrape(metrics.port), "HTTP/1.1 200 OK") << "after " << c.what;
  }
  EXPECT_EQ(::kill(metrics.serve.process.pid(), 0), 0) << "serve is gone";
}

// A request that never ends (no CRLF at all) is closed at the client's deadline; scrapes
// are answered while it waits.
TEST(MetricsEndpoint, AnUnfinishedRequestIsClosedAtItsDeadline) {
  MetricsServe metrics = start_metrics_serve();
  const auto started = Clock::now();
  std::thread scraper_meanwhile([&] { EXPECT_EQ(scrape(metrics.port), "HTTP/1.1 200 OK"); });
  const Outcome outcome = send_and_read(metrics.port, "GET /metrics HTTP/1.1", 3 * kClientDeadline);
  const auto waited = Clock::now() - started;
  scraper_meanwhile.join();
  EXPECT_EQ(outcome.end, Outcome::End::closed);
  EXPECT_EQ(outcome.reply, "") << "nothing to answer";
  // The test's clock started before serve's (at its accept): never less than the deadline.
  EXPECT_GE(waited, kClientDeadline) << "closed before its deadline";
}

// Clients that each send their request a byte at a time, reconnecting whenever serve
// closes them, as slowloris does: more of them than serve lets wait.
class Slowloris {
 public:
  Slowloris(int port, int clients, milliseconds every) : port_(port), every_(every) {
    for (int i = 0; i < clients; ++i)
      clients_.push_back(Client{start_connect(port_), 0, Clock::now()});
    thread_ = std::thread([this] { run(); });
  }
  ~Slowloris() {
    stop_ = true;
    thread_.join();
  }
  int reconnects() const { return reconnects_; }
  std::uint64_t bytes() const { return bytes_; }

 private:
  // Bounded in count as well as in time, as every loop that sends is.
  static constexpr int kMaxReconnects = 100'000;

  struct Client {
    net::UniqueFd fd;
    std::size_t next = 0;  // the next byte of the request to send
    Clock::time_point due;
  };

  void run() {
    // A head that never ends: this, then a field value of 'a's for as long as it lasts.
    static constexpr std::string_view kRequest =
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    std::vector<pollfd> ready(clients_.size());
    while (!stop_) {
      for (std::size_t i = 0; i < clients_.size(); ++i)
        ready[i] = {clients_[i].fd.get(), POLLIN, 0};
      // Paced by its own clock: a tick every few milliseconds, each client when due.
      ::poll(ready.data(), ready.size(), 5);
      const auto now = Clock::now();
      for (std::size_t i = 0; i < clients_.size(); ++i) {
        Client& client = clients_[i];
        char byte = 0;
        // serve closed it (its deadline, or a newer client pushed it out): come back.
        const bool closed = (ready[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0 &&
                            ::recv(client.fd.get(), &byte, 1, MSG_DONTWAIT) <= 0 && errno != EAGAIN;
        if (closed) {
          if (reconnects_ >= kMaxReconnects) continue;
          client = Client{start_connect(port_), 0, now + every_};
          ++reconnects_;
          continue;
        }
        if (now < client.due) continue;
        const char next = client.next < kRequest.size() ? kRequest[client.next] : 'a';
        if (::send(client.fd.get(), &next, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1) {
          ++client.next;
          ++bytes_;
        }
        client.due = now + every_;
      }
    }
  }

  int port_;
  milliseconds every_;
  std::vector<Client> clients_;
  std::atomic<bool> stop_{false};
  std::atomic<int> reconnects_{0};
  std::atomic<std::uint64_t> bytes_{0};
  std::thread thread_;
};

TEST(MetricsEndpoint, ScrapersAreAnsweredThroughASlowloris) {
  MetricsServe metrics = start_metrics_serve(Memory::measured);
  const std::uint64_t before = metrics.serve.process.resident_bytes();
  ASSERT_GT(before, 0u);
  std::uint64_t peak = before;
  int answered = 0;
  milliseconds slowest{0};
  std::vector<std::string> failures;
  {
    Slowloris loris(metrics.port, 200, 50ms);
    // Scrapes one every 10 ms or so (a busy Prometheus; the pause only paces the load),
    // until 20 were answered and the clients were pushed out and came back: events, not
    // a time, so that a loaded machine only makes it slower. Each scrape has 10 s (a
    // safety net: serve's own deadline for a client is 5 s), and all of it 60 s.
    const auto until = Clock::now() + 60s;
    while ((answered < 20 || loris.reconnects() <= 200 - kMaxClients) && failures.size() < 5 &&
           Clock::now() < until) {
      std::this_thread::sleep_for(10ms);
      const auto asked = Clock::now();
      const std::string status = scrape(metrics.port, 10s);
      slowest = std::max(slowest, std::chrono::duration_cast<milliseconds>(Clock::now() - asked));
      if (status == "HTTP/1.1 200 OK") {
        ++answered;
      } else {
        failures.push_back(status);
      }
      peak = std::max(peak, metrics.serve.process.resident_bytes());
    }
    EXPECT_GT(loris.reconnects(), 200 - kMaxClients) << "the clients were not pushed out";
    std::cout << "slowloris: " << loris.bytes() << " bytes trickled, " << loris.reconnects()
              << " reconnections; " << answered << " scrapes answered, the slowest in "
              << slowest.count() << " ms; serve's RSS grew " << (peak - before) / 1024 << " KiB\n";
  }
  EXPECT_TRUE(failures.empty()) << failures.size()
                                << " scrapes failed, the first: " << failures.front();
  EXPECT_GE(answered, 20);
  EXPECT_LT(peak - before, 8u << 20) << "serve's memory grew with the clients";
}

// Many clients at once sending far more than a request head: serve reads at most a
// head's worth of each, so its memory does not follow what they send.
TEST(MetricsEndpoint, MemoryStaysBoundedUnderAFloodOfOversizedRequests) {
  MetricsServe metrics = start_metrics_serve(Memory::measured);
  const std::uint64_t before = metrics.serve.process.resident_bytes();
  ASSERT_GT(before, 0u);
  constexpr int kSenders = 4;
  constexpr int kRequestsEach = 64;
  std::atomic<bool> stop{false};
  std::atomic<int> sending{kSenders};
  std::atomic<std::uint64_t> offered{0};
  std::atomic<int> answered{0};
  // Four senders, each sending 64 requests of 1 MiB one after the other (256 MiB in all):
  // one field that never ends, far beyond the 8 KiB a head may take.
  std::vector<std::thread> senders;
  for (int i = 0; i < kSenders; ++i) {
    senders.emplace_back([&] {
      const std::string flood = "GET /metrics HTTP/1.1\r\nX-Flood: " + std::string(1u << 20, 'f');
      for (int n = 0; n < kRequestsEach && !stop; ++n) {
        const Outcome outcome = send_and_read(metrics.port, flood);
        offered += outcome.sent;
        if (outcome.status() == "HTTP/1.1 431 Request Header Fields Too Large") ++answered;
      }
      --sending;
    });
  }
  // Scrapes while the flood lasts, and then a few more (with a safety net of 120 s: a
  // loaded machine only makes it slower).
  std::uint64_t peak = before;
  int scrapes = 0;
  const auto until = Clock::now() + 120s;
  while ((sending > 0 || scrapes < 10) && Clock::now() < until) {
    std::this_thread::sleep_for(10ms);  // paces the scrapes; they are not timed
    EXPECT_EQ(scrape(metrics.port, 10s), "HTTP/1.1 200 OK");
    ++scrapes;
    peak = std::max(peak, metrics.serve.process.resident_bytes());
  }
  stop = true;
  for (auto& sender : senders)
    sender.join();
  std::cout << "flood: " << offered / (1 << 20) << " MiB offered, " << answered << " answered 431; "
            << scrapes << " scrapes; serve's RSS grew " << (peak - before) / 1024 << " KiB\n";
  EXPECT_EQ(sending, 0) << "the flood did not get through in 120 s";
  EXPECT_GT(answered, 0);
  EXPECT_LT(peak - before, 8u << 20) << "serve's memory followed what its clients sent";
}

}  // namespace
}  // namespace tcpka
