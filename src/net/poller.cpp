#include "net/poller.h"

#include <cerrno>
#include <string>

namespace tcpka::net {
namespace {

Error epoll_error(const char* what, int fd) {
  const int error = errno;
  return errno_error(error, std::string(what) + " fd " + std::to_string(fd) + ": " +
                                std::generic_category().message(error));
}

}  // namespace

Result<Poller> Poller::create() {
  UniqueFd fd(::epoll_create1(EPOLL_CLOEXEC));
  if (!fd) {
    const int error = errno;
    return errno_error(error, "epoll_create1: " + std::generic_category().message(error));
  }
  return Poller(std::move(fd));
}

Result<void> Poller::add(int fd, std::uint32_t events, std::uint64_t token) {
  epoll_event event{events, {.u64 = token}};
  if (::epoll_ctl(fd_.get(), EPOLL_CTL_ADD, fd, &event) != 0) return epoll_error("epoll add", fd);
  return {};
}

Result<void> Poller::modify(int fd, std::uint32_t events, std::uint64_t token) {
  epoll_event event{events, {.u64 = token}};
  if (::epoll_ctl(fd_.get(), EPOLL_CTL_MOD, fd, &event) != 0) {
    return epoll_error("epoll modify", fd);
  }
  return {};
}

void Poller::remove(int fd) {
  ::epoll_ctl(fd_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

}  // namespace tcpka::net
