// Linux only: a TcpState from the bytes of a `struct tcp_info` as the kernel wrote them,
// whether getsockopt(TCP_INFO) returned them or sock_diag carried them (INET_DIAG_INFO)
// for a socket of another process. Fields beyond the bytes given (an older kernel's
// shorter struct) stay empty.
#pragma once

#include <cstddef>
#include <span>

#include "tcpka/tcp_state.h"

namespace tcpka {

TcpState tcp_state_from_linux_tcp_info(std::span<const std::byte> bytes);

}  // namespace tcpka
