#include "support/loopback.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "tcpka/socket_options.h"
#include "tcpka/tcp_state.h"

namespace tcpka::testing {
namespace {

// Throws with errno's message; `what` is a literal so that nothing runs between the
// failed call and the read of errno.
[[noreturn]] void fail(const char* what) {
  const int error = errno;
  throw std::runtime_error(std::string(what) + ": " + std::strerror(error));
}

net::UniqueFd tcp_socket(int family) {
  net::UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!fd) fail("socket");
  return fd;
}

}  // namespace

net::SocketAddress loopback_address(int family, int port) {
  net::SocketAddress address;
  if (family == AF_INET6) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
    v6->sin6_family = AF_INET6;
    v6->sin6_addr = in6addr_loopback;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
    address.length = sizeof(sockaddr_in6);
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
    address.length = sizeof(sockaddr_in);
  }
  return address;
}

net::UniqueFd listen_on_loopback(int family, const std::optional<Policy>& policy) {
  net::UniqueFd listener = tcp_socket(family);
  if (policy) {
    if (auto applied = apply_policy(listener.get(), *policy); !applied) {
      throw std::runtime_error(applied.error().message);
    }
  }
  const net::SocketAddress address = loopback_address(family, 0);
  if (::bind(listener.get(), address.get(), address.length) != 0) fail("bind");
  if (::listen(listener.get(), 16) != 0) fail("listen");
  return listener;
}

int local_port(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) fail("getsockname");
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
}

TcpPair connect_over_loopback(int family, const std::optional<Policy>& listener_policy,
                              ClientWindow window) {
  TcpPair pair;
  pair.listener = listen_on_loopback(family, listener_policy);
  pair.client = tcp_socket(family);
  if (window == ClientWindow::small) {
    // Before connect(): the window is scaled and advertised from it during the handshake.
    const int size = 4096;
    if (::setsockopt(pair.client.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) != 0) {
      fail("SO_RCVBUF");
    }
  }
  const net::SocketAddress address = loopback_address(family, local_port(pair.listener.get()));
  if (::connect(pair.client.get(), address.get(), address.length) != 0) fail("connect");
  pair.server = net::UniqueFd(::accept4(pair.listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!pair.server) fail("accept4");
  return pair;
}

void silence(int fd) {
  sock_filter accept_nothing[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
  sock_fprog program{1, accept_nothing};
  if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof(program)) != 0) {
    fail("setsockopt(SO_ATTACH_FILTER)");
  }
}

void send_bytes(int fd, std::size_t size) {
  const std::vector<char> bytes(size, 'x');
  std::size_t sent = 0;
  while (sent < size) {
    const ssize_t n = ::send(fd, bytes.data() + sent, size - sent, MSG_NOSIGNAL);
    if (n < 0) fail("send");
    sent += static_cast<std::size_t>(n);
  }
}

void receive_bytes(int fd, std::size_t size) {
  std::vector<char> bytes(size);
  std::size_t received = 0;
  while (received < size) {
    const ssize_t n = ::recv(fd, bytes.data() + received, size - received, 0);
    if (n <= 0) fail("recv");
    received += static_cast<std::size_t>(n);
  }
}

std::optional<Ending> wait_for_end(int fd, Clock::time_point since, Millis limit) {
  const Clock::time_point deadline = since + limit;
  while (true) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
    if (left < Millis(0)) return std::nullopt;
    pollfd waiting{fd, POLLIN, 0};
    const int ready = ::poll(&waiting, 1, static_cast<int>(left.count()) + 1);
    if (ready < 0 && errno != EINTR) fail("poll");
    if (ready <= 0) continue;
    char byte = 0;
    const ssize_t n = ::recv(fd, &byte, 1, MSG_DONTWAIT);
    const int error = errno;
    const auto after = std::chrono::duration_cast<Millis>(Clock::now() - since);
    if (n == 0) return Ending{after, {}};
    if (n < 0 && error != EAGAIN)
      return Ending{after, std::error_code(error, std::generic_category())};
  }
}

Clock::time_point fill_peer_window(int fd, Millis limit) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) fail("fcntl");
  const std::vector<char> chunk(65536, 'x');
  const Clock::time_point deadline = Clock::now() + limit;
  // The send buffer keeps taking data after the window shuts, so the last write says
  // little; the last moment the window was seen open (or data in flight) bounds the
  // shut from below, which never makes a measurement look faster than it was.
  Clock::time_point last_seen_open = Clock::now();
  while (Clock::now() < deadline) {
    const Clock::time_point before = Clock::now();
    auto state = read_tcp_state(fd);
    if (!state) throw std::runtime_error(state.error().message);
    if (state->send_window != 0u || state->unacked != 0u) {
      last_seen_open = before;
    } else if (state->notsent_bytes.value_or(0) > 0) {
      if (::fcntl(fd, F_SETFL, flags) != 0) fail("fcntl");
      return last_seen_open;
    }
    const ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) fail("send");
    if (n < 0) {
      pollfd waiting{fd, POLLOUT, 0};
      ::poll(&waiting, 1, 1);
    }
  }
  throw std::runtime_error("the peer's window did not shut in time");
}

}  // namespace tcpka::testing
