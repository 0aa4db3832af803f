// Linux: TcpState from getsockopt(TCP_INFO), read as tcp_info.cpp reads its bytes. Only
// <linux/tcp.h> is included here: it and glibc's <netinet/tcp.h> both define tcp_info.
#include "tcpka/tcp_state.h"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <string>

#include "../platform.h"
#include "tcpka/linux_tcp_info.h"

namespace tcpka {

Result<TcpState> read_tcp_state(NativeSocket fd) {
  if (auto tcp = detail::check_tcp_socket(fd); !tcp) return tcp.error();
  tcp_info info{};
  socklen_t length = sizeof(info);
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) {
    const int error = errno;
    return errno_error(error, "getsockopt(IPPROTO_TCP/TCP_INFO) on fd " + std::to_string(fd) +
                                  ": " + std::generic_category().message(error));
  }
  return tcp_state_from_linux_tcp_info(
      std::as_bytes(std::span(&info, 1)).first(static_cast<std::size_t>(length)));
}

}  // namespace tcpka
