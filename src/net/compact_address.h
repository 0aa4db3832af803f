// An IP address and port in 18 bytes, for tables with an entry per connection: IPv4 is
// kept as an IPv4-mapped IPv6 address (::ffff:a.b.c.d), so no family field is needed.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "net/endpoint.h"

namespace tcpka::net {

struct CompactAddress {
  std::array<std::uint8_t, 16> ip{};
  std::uint16_t port = 0;  // host byte order

  bool is_ipv4() const;
  bool operator==(const CompactAddress&) const = default;
};
static_assert(sizeof(CompactAddress) == 18);

CompactAddress compact(const SocketAddress& address);
SocketAddress expand(const CompactAddress& address);
std::string to_string(const CompactAddress& address);  // "127.0.0.1:7001", "[::1]:7001"

// The IP alone, as a key for per-address counts.
struct CompactIp {
  std::array<std::uint8_t, 16> bytes{};
  bool operator==(const CompactIp&) const = default;
};

struct CompactIpHash {
  std::size_t operator()(const CompactIp& ip) const;
};

inline CompactIp ip_of(const CompactAddress& address) {
  return CompactIp{address.ip};
}

}  // namespace tcpka::net
