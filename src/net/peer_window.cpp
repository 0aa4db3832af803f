#include "net/peer_window.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <vector>

#include "tcpka/tcp_state.h"

namespace tcpka::net {

Result<std::chrono::steady_clock::time_point> fill_peer_window(int fd, Millis limit) {
  using Clock = std::chrono::steady_clock;
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return errno_error(errno, "fcntl(O_NONBLOCK)");
  }
  const auto restore = [&] { ::fcntl(fd, F_SETFL, flags); };
  const std::vector<char> chunk(std::size_t{64} * 1024, 'w');
  const Clock::time_point deadline = Clock::now() + limit;
  // The send buffer keeps taking data after the window shuts, so the last write says
  // little; the last moment the window was seen open (or data in flight) bounds the
  // shut from below.
  Clock::time_point last_seen_open = Clock::now();
  while (Clock::now() < deadline) {
    const Clock::time_point before = Clock::now();
    auto state = read_tcp_state(fd);
    if (!state) {
      restore();
      return state.error();
    }
    if (state->send_window != 0U || state->unacked != 0U) {
      last_seen_open = before;
    } else if (state->notsent_bytes.value_or(0) > 0) {
      restore();
      return last_seen_open;
    }
    const ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN) {
      const int error = errno;
      restore();
      return errno_error(error, "send: " + std::generic_category().message(error));
    }
    if (n < 0) {
      pollfd waiting{fd, POLLOUT, 0};
      ::poll(&waiting, 1, 1);
    }
  }
  restore();
  return errno_error(ETIMEDOUT, "the peer's window did not shut in time");
}

}  // namespace tcpka::net
