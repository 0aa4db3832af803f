// Small socket steps the scenarios share.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "lab/scenario_run.h"

namespace tcpka::tools::lab::detail {

Host peer_of(Host detector) {
  return detector == Host::server ? Host::client : Host::server;
}

Error failure(const std::string& what) {
  const int error = errno;
  return errno_error(error, what + ": " + std::generic_category().message(error));
}

// Waits up to `timeout` for `fd` to be readable.
bool readable_within(int fd, Millis timeout) {
  pollfd ready{fd, POLLIN, 0};
  return ::poll(&ready, 1, static_cast<int>(timeout.count())) == 1;
}

Result<net::UniqueFd> accept_within(int listener, Millis timeout) {
  if (!readable_within(listener, timeout)) return errno_error(ETIMEDOUT, "nobody connected");
  net::UniqueFd fd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (!fd) return failure("accept4");
  return fd;
}

Result<void> read_one_byte(int fd, Millis timeout) {
  if (!readable_within(fd, timeout)) return errno_error(ETIMEDOUT, "no byte from the peer");
  char byte = 0;
  if (::recv(fd, &byte, 1, 0) != 1) return failure("recv");
  return {};
}

Result<void> send_bytes(int fd, std::size_t size) {
  const std::string bytes(size, 'd');
  if (::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(size)) {
    return failure("send");
  }
  return {};
}

Result<void> send_text(int fd, std::string_view text) {
  for (std::size_t sent = 0; sent < text.size();) {
    const ssize_t n = ::send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return failure("send");
    sent += static_cast<std::size_t>(n);
  }
  return {};
}

// Closes a socket without a FIN or RST, as a host that loses power does (TCP_REPAIR
// needs CAP_NET_ADMIN, which the lab has in its namespaces).
Result<void> vanish(net::UniqueFd& fd) {
  const int on = 1;
  if (::setsockopt(fd.get(), IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) != 0) {
    return failure("TCP_REPAIR");
  }
  fd.reset();
  return {};
}

std::optional<std::int64_t> last_captured_from_peer(int fd,
                                                    std::span<const net::CapturedPacket> packets,
                                                    std::optional<std::int64_t> before_us) {
  sockaddr_storage peer{};
  socklen_t length = sizeof(peer);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) return std::nullopt;
  const net::CompactAddress from = net::compact(net::SocketAddress{peer, length});
  std::optional<std::int64_t> last;
  for (const net::CapturedPacket& packet : packets) {
    if (packet.kind != net::CapturedPacket::kTcp || !(packet.source == from)) continue;
    if (before_us && packet.time_us >= *before_us) continue;
    last = packet.time_us;
  }
  return last;
}

}  // namespace tcpka::tools::lab::detail
