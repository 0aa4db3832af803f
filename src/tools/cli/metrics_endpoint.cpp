#include "cli/metrics_endpoint.h"

#include <fmt/core.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "net/listener.h"
#include "net/poll_token.h"

namespace tcpka::tools {
namespace {

std::string response(std::string_view status, const std::string& body,
                     std::string_view extra_fields = {}, bool with_body = true) {
  return fmt::format(
      "HTTP/1.1 {}\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
      "Content-Length: {}\r\n{}Connection: close\r\n\r\n{}",
      status, body.size(), extra_fields, with_body ? std::string_view(body) : "");
}

}  // namespace

Result<MetricsEndpoint> MetricsEndpoint::create(const net::SocketAddress& address,
                                                std::function<std::string()> render) {
  auto listener = net::listen_tcp(address, net::ListenOptions{});
  if (!listener) return listener.error();
  // The kernel holds a new connection until its first bytes come (for about a client's
  // deadline): a scraper is accepted with its request there to be read and answered at
  // once, before newer clients can push it out, and one that connects and says nothing
  // takes none of the kMaxClients places meanwhile.
  const int defer_seconds =
      static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(kClientDeadline).count());
  if (::setsockopt(listener->get(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_seconds,
                   sizeof(defer_seconds)) != 0) {
    const int error = errno;
    return errno_error(error, "setsockopt(TCP_DEFER_ACCEPT) on the metrics listener: " +
                                  std::generic_category().message(error));
  }
  auto bound = net::local_address(listener->get());
  if (!bound) return bound.error();
  return MetricsEndpoint(std::move(*listener), net::to_string(*bound), std::move(render));
}

Result<void> MetricsEndpoint::watch(net::Poller& poller, std::uint32_t listener_kind,
                                    std::uint32_t client_kind) {
  listener_kind_ = listener_kind;
  client_kind_ = client_kind;
  return poller.add(listener_.get(), EPOLLIN, net::PollToken{listener_kind}.packed());
}

void MetricsEndpoint::on_listener(net::Poller& poller) {
  // The listener is level-triggered: what is left in its backlog comes back next round.
  for (int accepted = 0; accepted < kAcceptsPerReadiness; ++accepted) {
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
    // A scraper's request is often there before it is accepted: answered at once, it
    // cannot be pushed out by the clients behind it.
    read_request(poller, fd);
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
  read_request(poller, fd);
}

void MetricsEndpoint::read_request(net::Poller& poller, int fd) {
  const auto found = clients_.find(fd);
  if (found == clients_.end()) return;
  char buffer[2048];
  const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    drop(poller, fd);
    return;
  }
  const RequestVerdict verdict =
      found->second.request.add(std::string_view(buffer, static_cast<std::size_t>(n)));
  if (verdict == RequestVerdict::incomplete) return;
  respond(fd, verdict);
  drop(poller, fd);
}

void MetricsEndpoint::respond(int fd, RequestVerdict verdict) {
  std::string reply;
  switch (verdict) {
    case RequestVerdict::metrics:
    case RequestVerdict::metrics_head:
      reply = response("200 OK", render_(), {}, verdict == RequestVerdict::metrics);
      break;
    case RequestVerdict::not_found:
      reply = response("404 Not Found", "try GET /metrics\n");
      break;
    case RequestVerdict::method_not_allowed:
      reply = response("405 Method Not Allowed", "only GET and HEAD\n", "Allow: GET, HEAD\r\n");
      break;
    case RequestVerdict::too_large:
      reply = response("431 Request Header Fields Too Large",
                       fmt::format("a request head ends within {} bytes\n", kMaxRequestHead));
      break;
    case RequestVerdict::version_not_supported:
      reply = response("505 HTTP Version Not Supported", "HTTP/1.0 and HTTP/1.1 only\n");
      break;
    case RequestVerdict::bad_request:
    case RequestVerdict::incomplete:
      reply = response("400 Bad Request", "not an HTTP/1.x request; try GET /metrics\n");
      break;
  }
  // Small enough for the socket's send buffer: one send, and whatever does not fit is the
  // scraper's loss, not the server's stall.
  [[maybe_unused]] const ssize_t n = ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
}

void MetricsEndpoint::drop(net::Poller& poller, int fd) {
  poller.remove(fd);
  ::close(fd);
  clients_.erase(fd);
}

void MetricsEndpoint::on_ready(net::Poller& poller, net::PollToken token) {
  if (token.kind == listener_kind_) {
    on_listener(poller);
  } else if (token.kind == client_kind_) {
    on_client(poller, static_cast<int>(token.index));
  }
}

}  // namespace tcpka::tools
