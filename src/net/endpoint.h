// "HOST:PORT" as people write it, and the socket addresses it names.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tcpka/result.h"

namespace tcpka::net {

struct Endpoint {
  std::string host;  // a name or an address, without IPv6 brackets
  std::uint16_t port = 0;
};

// Whether port 0 (the kernel picks one at bind) is acceptable: to listen on, yes.
enum class PortZero { rejected, allowed };

// Reads "127.0.0.1:7001", "[::1]:7001" or "localhost:7001". The port must be 1..65535.
Result<Endpoint> parse_endpoint(std::string_view text, PortZero zero = PortZero::rejected);

// An address ready for connect() or bind().
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  int family() const { return storage.ss_family; }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
};

// The TCP addresses `endpoint` resolves to, in the resolver's order.
Result<std::vector<SocketAddress>> resolve(const Endpoint& endpoint);

// "127.0.0.1:7001" or "[::1]:7001".
std::string to_string(const SocketAddress& address);

}  // namespace tcpka::net
