#include "connect.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <string>

namespace tcpka::net {
namespace {

Error connect_error(int error, const SocketAddress& address) {
  return errno_error(error, "cannot connect to " + to_string(address) + ": " +
                                std::generic_category().message(error));
}

// Waits for a non-blocking connect() in progress and reports how it ended.
Result<void> wait_connected(int fd, const SocketAddress& address,
                            std::chrono::milliseconds timeout) {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return connect_error(ETIMEDOUT, address);
    pollfd waiting{fd, POLLOUT, 0};
    const int ready =
        ::poll(&waiting, 1, static_cast<int>(std::min<std::int64_t>(left.count(), INT_MAX)));
    if (ready > 0) break;
    if (ready < 0 && errno != EINTR) return connect_error(errno, address);
  }
  int error = 0;
  socklen_t length = sizeof(error);
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
  if (error != 0) return connect_error(error, address);
  return {};
}

}  // namespace

Result<UniqueFd> connect_tcp(const SocketAddress& address, std::chrono::milliseconds timeout,
                             const PrepareSocket& prepare) {
  UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!fd) {
    const int error = errno;
    return errno_error(error, "socket(): " + std::generic_category().message(error));
  }
  if (prepare) {
    if (Result<void> prepared = prepare(fd.get()); !prepared) return prepared.error();
  }
  if (::connect(fd.get(), address.get(), address.length) != 0) {
    if (errno != EINPROGRESS) return connect_error(errno, address);
    if (auto connected = wait_connected(fd.get(), address, timeout); !connected) {
      return connected.error();
    }
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return connect_error(errno, address);
  }
  return fd;
}

}  // namespace tcpka::net
