// Listening sockets.
#pragma once

#include <optional>

#include "net/endpoint.h"
#include "net/unique_fd.h"
#include "tcpka/policy.h"
#include "tcpka/result.h"

namespace tcpka::net {

struct ListenOptions {
  int backlog = 4096;       // capped by the namespace's net.core.somaxconn
  bool reuse_port = false;  // SO_REUSEPORT: one listener per worker thread on one port
  // Applied to the listening socket before listen(): accepted sockets inherit it.
  std::optional<Policy> policy;
};

// A non-blocking, close-on-exec listening TCP socket on `address`. An IPv6 address
// listens on IPv6 only, so that [::]:P and 0.0.0.0:P can both be asked for.
Result<UniqueFd> listen_tcp(const SocketAddress& address, const ListenOptions& options);

// The address a socket is bound to (for a listener given port 0: the port it got).
Result<SocketAddress> local_address(int fd);

}  // namespace tcpka::net
