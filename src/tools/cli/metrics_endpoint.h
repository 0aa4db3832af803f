// The Prometheus endpoint of `tcpka serve` and `tcpka watch`: plain HTTP/1.1 on its own
// listener, one request per connection (GET /metrics), served from the owner's loop. A
// client gets kClientDeadline to send its request, and at most kMaxClients wait at once
// (a new one pushes out the oldest), so idle or slow clients cannot lock scrapers out;
// the kernel accepts a connection only once it has sent something (TCP_DEFER_ACCEPT),
// and what a new client has sent is read at once. What a request gets is
// metrics_request.h's verdict on it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include "cli/metrics_request.h"
#include "net/endpoint.h"
#include "net/poll_token.h"
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
  // Accepts per readiness of the listener. Below kMaxClients / 2, so that a burst of new
  // clients cannot push out those accepted just before it, before the loop has read them.
  static constexpr int kAcceptsPerReadiness = 16;

  std::string address() const { return address_; }

  // Registers the listener with `poller` as net::PollToken{listener_kind}; clients are
  // registered as {client_kind, fd}.
  Result<void> watch(net::Poller& poller, std::uint32_t listener_kind, std::uint32_t client_kind);
  void on_listener(net::Poller& poller);
  void on_client(net::Poller& poller, int fd);
  // For the owner's loop: handles `token` if it is the listener's or a client's; any
  // other token is not the endpoint's and is left alone.
  void on_ready(net::Poller& poller, net::PollToken token);
  // How long the owner's loop may sleep before expire() has work (negative: forever).
  Millis next_timeout() const;
  // Closes clients whose deadline passed.
  void expire(net::Poller& poller);

 private:
  MetricsEndpoint(net::UniqueFd listener, std::string address, std::function<std::string()> render)
      : listener_(std::move(listener)), address_(std::move(address)), render_(std::move(render)) {}

  // Reads what `fd` sent and answers once its request is decided.
  void read_request(net::Poller& poller, int fd);
  void respond(int fd, RequestVerdict verdict);
  void drop(net::Poller& poller, int fd);

  net::UniqueFd listener_;
  std::string address_;
  std::function<std::string()> render_;
  std::uint32_t listener_kind_ = 0;
  std::uint32_t client_kind_ = 0;
  struct Client {
    RequestReader request;  // what it has sent so far, as far as it matters
    std::chrono::steady_clock::time_point deadline;
  };
  std::unordered_map<int, Client> clients_;
};

}  // namespace tcpka::tools
