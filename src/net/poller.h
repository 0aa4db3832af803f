// epoll, reduced to what an event loop needs. Each descriptor is registered with a
// 64-bit token its owner chooses (an fd, a kind and an index); wait() hands the tokens
// of ready descriptors back. No callback objects per descriptor: a server holding a
// million connections pays nothing here beyond the kernel's own epoll item.
#pragma once

#include <sys/epoll.h>

#include <array>
#include <cstdint>

#include "net/unique_fd.h"
#include "tcpka/duration.h"
#include "tcpka/result.h"

namespace tcpka::net {

class Poller {
 public:
  static Result<Poller> create();

  // EPOLLIN, EPOLLOUT, ... as epoll_ctl takes them (level-triggered unless EPOLLET).
  Result<void> add(int fd, std::uint32_t events, std::uint64_t token);
  Result<void> modify(int fd, std::uint32_t events, std::uint64_t token);
  // Closing a descriptor removes it too; this is for descriptors that stay open. A
  // descriptor that was never added is not an error.
  void remove(int fd);

  // Waits up to `timeout` (negative: forever) and calls visit(token, events) for each
  // ready descriptor. Returns how many there were; EINTR counts as zero.
  template <class Visit>
  int wait(Millis timeout, Visit&& visit);

 private:
  explicit Poller(UniqueFd fd) : fd_(std::move(fd)) {}

  UniqueFd fd_;
  std::array<epoll_event, 256> ready_{};
};

template <class Visit>
int Poller::wait(Millis timeout, Visit&& visit) {
  const int count = ::epoll_wait(fd_.get(), ready_.data(), static_cast<int>(ready_.size()),
                                 timeout.count() < 0 ? -1 : static_cast<int>(timeout.count()));
  for (int i = 0; i < count; ++i)
    visit(ready_[i].data.u64, ready_[i].events);
  return count < 0 ? 0 : count;
}

}  // namespace tcpka::net
