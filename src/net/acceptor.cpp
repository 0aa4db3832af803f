#include "net/acceptor.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>

namespace tcpka::net {
namespace {

UniqueFd open_reserve() {
  return UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

}  // namespace

Result<Acceptor> Acceptor::create() {
  UniqueFd reserve = open_reserve();
  if (!reserve) {
    const int error = errno;
    return errno_error(
        error, "cannot open a reserve descriptor: " + std::generic_category().message(error));
  }
  return Acceptor(std::move(reserve));
}

bool Acceptor::drop_one(int listener) {
  if (!reserve_) take_reserve();
  if (!reserve_) return false;
  reserve_.reset();
  const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd >= 0) ::close(fd);
  take_reserve();
  return fd >= 0;
}

void Acceptor::take_reserve() {
  reserve_ = open_reserve();
}

}  // namespace tcpka::net
