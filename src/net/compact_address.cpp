#include "net/compact_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string_view>

namespace tcpka::net {
namespace {

constexpr std::uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

}  // namespace

bool CompactAddress::is_ipv4() const {
  return std::memcmp(ip.data(), kMappedPrefix, sizeof(kMappedPrefix)) == 0;
}

CompactAddress compact(const SocketAddress& address) {
  CompactAddress result;
  if (address.family() == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address.storage);
    std::memcpy(result.ip.data(), &v6->sin6_addr, 16);
    result.port = ntohs(v6->sin6_port);
  } else {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address.storage);
    std::memcpy(result.ip.data(), kMappedPrefix, sizeof(kMappedPrefix));
    std::memcpy(result.ip.data() + 12, &v4->sin_addr, 4);
    result.port = ntohs(v4->sin_port);
  }
  return result;
}

SocketAddress expand(const CompactAddress& address) {
  SocketAddress result;
  if (address.is_ipv4()) {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&result.storage);
    v4->sin_family = AF_INET;
    std::memcpy(&v4->sin_addr, address.ip.data() + 12, 4);
    v4->sin_port = htons(address.port);
    result.length = sizeof(sockaddr_in);
  } else {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&result.storage);
    v6->sin6_family = AF_INET6;
    std::memcpy(&v6->sin6_addr, address.ip.data(), 16);
    v6->sin6_port = htons(address.port);
    result.length = sizeof(sockaddr_in6);
  }
  return result;
}

std::string to_string(const CompactAddress& address) {
  return to_string(expand(address));
}

std::size_t CompactIpHash::operator()(const CompactIp& ip) const {
  return std::hash<std::string_view>()(
      std::string_view(reinterpret_cast<const char*>(ip.bytes.data()), ip.bytes.size()));
}

}  // namespace tcpka::net
