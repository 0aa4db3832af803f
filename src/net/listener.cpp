#include "net/listener.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>

#include "tcpka/socket_options.h"

namespace tcpka::net {
namespace {

Error listen_error(const SocketAddress& address, const char* step) {
  const int error = errno;
  return errno_error(error, "cannot listen on " + to_string(address) + " (" + step +
                                "): " + std::generic_category().message(error));
}

Result<void> enable(int fd, int level, int name, const SocketAddress& address, const char* what) {
  const int on = 1;
  if (::setsockopt(fd, level, name, &on, sizeof(on)) != 0) return listen_error(address, what);
  return {};
}

}  // namespace

Result<UniqueFd> listen_tcp(const SocketAddress& address, const ListenOptions& options) {
  UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!fd) return listen_error(address, "socket");
  if (auto r = enable(fd.get(), SOL_SOCKET, SO_REUSEADDR, address, "SO_REUSEADDR"); !r) {
    return r.error();
  }
  if (options.reuse_port) {
    if (auto r = enable(fd.get(), SOL_SOCKET, SO_REUSEPORT, address, "SO_REUSEPORT"); !r) {
      return r.error();
    }
  }
  if (address.family() == AF_INET6) {
    if (auto r = enable(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, address, "IPV6_V6ONLY"); !r) {
      return r.error();
    }
  }
  if (options.policy) {
    if (auto applied = apply_policy(fd.get(), *options.policy); !applied) return applied.error();
  }
  if (::bind(fd.get(), address.get(), address.length) != 0) return listen_error(address, "bind");
  if (::listen(fd.get(), options.backlog) != 0) return listen_error(address, "listen");
  return fd;
}

Result<SocketAddress> local_address(int fd) {
  SocketAddress address;
  address.length = sizeof(address.storage);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address.storage), &address.length) != 0) {
    const int error = errno;
    return errno_error(error, "getsockname: " + std::generic_category().message(error));
  }
  return address;
}

}  // namespace tcpka::net
