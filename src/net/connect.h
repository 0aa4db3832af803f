// A blocking connect that gives up after a deadline, for tools that need one socket.
#pragma once

#include <chrono>
#include <functional>

#include "endpoint.h"
#include "tcpka/result.h"
#include "unique_fd.h"

namespace tcpka::net {

// Sets options on a socket before it connects.
using PrepareSocket = std::function<Result<void>(int fd)>;

// Connects a new TCP socket to `address` within `timeout` and returns it in blocking
// mode. `prepare`, when given, runs on the socket before connect().
Result<UniqueFd> connect_tcp(const SocketAddress& address, std::chrono::milliseconds timeout,
                             const PrepareSocket& prepare = {});

}  // namespace tcpka::net
