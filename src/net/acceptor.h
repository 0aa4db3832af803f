// Accepting every pending connection of a listener, including when the process is out
// of descriptors.
//
// accept4() failing with EMFILE leaves the connection in the backlog, so a level-
// triggered loop would wake for it forever. The Acceptor keeps one descriptor in reserve
// (the trick libev and nginx use): on EMFILE or ENFILE it gives the reserve back,
// accepts the connection, closes it at once, and takes the reserve again. The backlog
// drains, the peers see their connection closed, and the loop sleeps. Should the
// reserve itself be lost, the caller is told to pause the listener for a moment.
#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>

#include "net/endpoint.h"
#include "net/unique_fd.h"
#include "tcpka/result.h"

namespace tcpka::net {

struct AcceptRound {
  std::uint64_t dropped_out_of_fds = 0;     // accepted and closed for want of descriptors
  bool out_of_fds_without_reserve = false;  // pause the listener: it cannot drain now
  int last_error = 0;                       // the last errno other than EAGAIN, 0 if none
};

class Acceptor {
 public:
  static Result<Acceptor> create();

  // Accepts until the backlog is empty, calling on_accept(UniqueFd, const SocketAddress&)
  // for each connection (non-blocking, close-on-exec).
  template <class OnAccept>
  AcceptRound accept_all(int listener, OnAccept&& on_accept);

 private:
  explicit Acceptor(UniqueFd reserve) : reserve_(std::move(reserve)) {}

  // Uses the reserve to take one connection off the backlog and drop it.
  bool drop_one(int listener);
  void take_reserve();

  UniqueFd reserve_;
};

template <class OnAccept>
AcceptRound Acceptor::accept_all(int listener, OnAccept&& on_accept) {
  AcceptRound round;
  while (true) {
    SocketAddress peer;
    peer.length = sizeof(peer.storage);
    const int fd = ::accept4(listener, reinterpret_cast<sockaddr*>(&peer.storage), &peer.length,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      on_accept(UniqueFd(fd), peer);
      continue;
    }
    const int error = errno;
    if (error == EAGAIN || error == EWOULDBLOCK) return round;
    if (error == EINTR || error == ECONNABORTED) continue;  // that one is gone; go on
    if (error == EMFILE || error == ENFILE) {
      if (drop_one(listener)) {
        ++round.dropped_out_of_fds;
        continue;
      }
      round.out_of_fds_without_reserve = true;
    }
    round.last_error = error;
    return round;
  }
}

}  // namespace tcpka::net
