// The Prometheus endpoint of `tcpka serve`: plain HTTP/1.1 on its own listener, one
// request per connection (GET /metrics), served from the main thread's loop. A client
// gets kClientDeadline to send its request, and at most kMaxClients wait at once (a new
// one pushes out the oldest), so idle or slow clients cannot lock scrapers out.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include "net/endpoint.h"
#include "net/poller.h"
#include "net/unique_fd.h"
#include "tcpka/duration.h"
#include "tcpka/result.h"

namespace tcpka::tools {

class MetricsEndpoint {
 public:
  // `render` produces the exposition text at each request.
  static Result<MetricsEndpoint> create(const net::SocketAddress& address,
                                        std::function<std::string()> render);

  static constexpr Millis kClientDeadline{5'000};
  static constexpr std::size_t kMaxClients = 64;

  std::string address() const { return address_; }

  // Registers the listener with `poller` as net::PollToken{listener_kind}; clients are
  // registered as {client_kind, fd}.
  Result<void> watch(net::Poller& poller, std::uint32_t listener_kind, std::uint32_t client_kind);
  void on_listener(net::Poller& poller);
  void on_client(net::Poller& poller, int fd);
  // How long the owner's loop may sleep before expire() has work (negative: forever).
  Millis next_timeout() const;
  // Closes clients whose deadline passed.
  void expire(net::Poller& poller);

 private:
  MetricsEndpoint(net::UniqueFd listener, std::string address, std::function<std::string()> render)
      : listener_(std::move(listener)), address_(std::move(address)), render_(std::move(render)) {}

  void respond(int fd, const std::string& request);
  void drop(net::Poller& poller, int fd);

  net::UniqueFd listener_;
  std::string address_;
  std::function<std::string()> render_;
  std::uint32_t client_kind_ = 0;
  struct Client {
    std::string request;  // what it has sent so far
    std::chrono::steady_clock::time_point deadline;
  };
  std::unordered_map<int, Client> clients_;
};

}  // namespace tcpka::tools
