// The Prometheus endpoint of `tcpka serve`: plain HTTP/1.1 on its own listener, one
// request per connection (GET /metrics), served from the main thread's loop.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include "net/endpoint.h"
#include "net/poller.h"
#include "net/unique_fd.h"
#include "tcpka/result.h"

namespace tcpka::tools {

class MetricsEndpoint {
 public:
  // `render` produces the exposition text at each request.
  static Result<MetricsEndpoint> create(const net::SocketAddress& address,
                                        std::function<std::string()> render);

  int listener() const { return listener_.get(); }
  std::string address() const { return address_; }

  // Registers the listener with `poller` under `listener_token`; clients get
  // client_token_base | fd.
  Result<void> watch(net::Poller& poller, std::uint64_t listener_token,
                     std::uint64_t client_token_base);
  void on_listener(net::Poller& poller);
  void on_client(net::Poller& poller, int fd);

 private:
  MetricsEndpoint(net::UniqueFd listener, std::string address, std::function<std::string()> render)
      : listener_(std::move(listener)), address_(std::move(address)), render_(std::move(render)) {}

  void respond(int fd, const std::string& request);
  void drop(net::Poller& poller, int fd);

  net::UniqueFd listener_;
  std::string address_;
  std::function<std::string()> render_;
  std::uint64_t client_token_base_ = 0;
  std::unordered_map<int, std::string> requests_;  // what each client has sent so far
};

}  // namespace tcpka::tools
