#include "serve/metrics_endpoint.h"

#include <fmt/core.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "net/listener.h"
#include "net/poll_token.h"

namespace tcpka::tools {
namespace {

// A scraper's request fits in far less; anything longer is not one.
constexpr std::size_t kMaxRequest = std::size_t{8} * 1024;

std::string response(const char* status, const std::string& body) {
  return fmt::format(
      "HTTP/1.1 {}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
      "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
      status, body.size(), body);
}

}  // namespace

Result<MetricsEndpoint> MetricsEndpoint::create(const net::SocketAddress& address,
                                                std::function<std::string()> render) {
  auto listener = net::listen_tcp(address, net::ListenOptions{});
  if (!listener) return listener.error();
  auto bound = net::local_address(listener->get());
  if (!bound) return bound.error();
  return MetricsEndpoint(std::move(*listener), net::to_string(*bound), std::move(render));
}

Result<void> MetricsEndpoint::watch(net::Poller& poller, std::uint32_t listener_kind,
                                    std::uint32_t client_kind) {
  client_kind_ = client_kind;
  return poller.add(listener_.get(), EPOLLIN, net::PollToken{listener_kind}.packed());
}

void MetricsEndpoint::on_listener(net::Poller& poller) {
  while (true) {
    const int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;  // EAGAIN, or a failure that the next readiness retries
    if (clients_.size() >= kMaxClients) {
      const auto oldest = std::min_element(
          clients_.begin(), clients_.end(),
          [](const auto& a, const auto& b) { return a.second.deadline < b.second.deadline; });
      drop(poller, oldest->first);
    }
    if (!poller.add(fd, EPOLLIN | EPOLLRDHUP,
                    net::PollToken{client_kind_, static_cast<std::uint32_t>(fd)}.packed())) {
      ::close(fd);
      continue;
    }
    clients_.emplace(fd, Client{{}, std::chrono::steady_clock::now() + kClientDeadline});
  }
}

Millis MetricsEndpoint::next_timeout() const {
  if (clients_.empty()) return Millis(-1);
  auto soonest = std::chrono::steady_clock::time_point::max();
  for (const auto& [fd, client] : clients_)
    soonest = std::min(soonest, client.deadline);
  const auto left = std::chrono::ceil<Millis>(soonest - std::chrono::steady_clock::now());
  return std::max(left, Millis(0));
}

void MetricsEndpoint::expire(net::Poller& poller) {
  const auto now = std::chrono::steady_clock::now();
  std::vector<int> late;
  for (const auto& [fd, client] : clients_) {
    if (client.deadline <= now) late.push_back(fd);
  }
  for (int fd : late)
    drop(poller, fd);
}

void MetricsEndpoint::on_client(net::Poller& poller, int fd) {
  const auto found = clients_.find(fd);
  if (found == clients_.end()) return;
  char buffer[2048];
  const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    drop(poller, fd);
    return;
  }
  std::string& request = found->second.request;
  request.append(buffer, static_cast<std::size_t>(n));
  if (request.find("\r\n\r\n") == std::string::npos && request.size() < kMaxRequest) return;
  respond(fd, request);
  drop(poller, fd);
}

void MetricsEndpoint::respond(int fd, const std::string& request) {
  const bool metrics = request.rfind("GET /metrics ", 0) == 0 || request.rfind("GET / ", 0) == 0;
  const std::string reply =
      metrics ? response("200 OK", render_()) : response("404 Not Found", "try GET /metrics\n");
  // Small enough for the socket's send buffer: one send, and whatever does not fit is the
  // scraper's loss, not the server's stall.
  [[maybe_unused]] const ssize_t n = ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
}

void MetricsEndpoint::drop(net::Poller& poller, int fd) {
  poller.remove(fd);
  ::close(fd);
  clients_.erase(fd);
}

}  // namespace tcpka::tools
