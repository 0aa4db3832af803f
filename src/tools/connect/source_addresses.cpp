#include "connect/source_addresses.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <string>

namespace tcpka::tools {
namespace {

// The most addresses a range holds, and all the parts together: each costs a
// SocketAddress (136 bytes), and no client needs more of them than it has descriptors.
// Without the total, a long list of ranges asked for gigabytes.
constexpr std::uint32_t kMaxRange = 65'536;

Error bad(std::string_view text, const std::string& why) {
  return invalid_argument("--source '" + printable(text) + "': " + why);
}

Error too_many(std::string_view text) {
  return bad(text, "at most 65536 addresses in all");
}

std::optional<std::uint32_t> ipv4(std::string_view text) {
  in_addr address{};
  if (::inet_pton(AF_INET, std::string(text).c_str(), &address) != 1) return std::nullopt;
  return ntohl(address.s_addr);
}

net::SocketAddress v4_address(std::uint32_t host_order) {
  net::SocketAddress address;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
  v4->sin_family = AF_INET;
  v4->sin_addr.s_addr = htonl(host_order);
  address.length = sizeof(sockaddr_in);
  return address;
}

Result<void> add_part(std::string_view whole, std::string_view part,
                      std::vector<net::SocketAddress>& addresses) {
  if (const auto dash = part.find('-'); dash != std::string_view::npos) {
    const auto first = ipv4(part.substr(0, dash));
    const auto last = ipv4(part.substr(dash + 1));
    if (!first || !last) return bad(whole, "a range is FIRST-LAST of two IPv4 addresses");
    if (*last < *first) return bad(whole, "the range ends before it starts");
    // Counted in 64 bits: 0.0.0.0-255.255.255.255 holds 2^32 addresses, 0 in 32 bits.
    const std::uint64_t count = std::uint64_t{*last} - *first + 1;
    if (count > kMaxRange) return bad(whole, "a range holds at most 65536 addresses");
    if (count > kMaxRange - addresses.size()) return too_many(whole);
    for (std::uint32_t ip = *first;; ++ip) {
      addresses.push_back(v4_address(ip));
      if (ip == *last) break;
    }
    return {};
  }
  if (addresses.size() == kMaxRange) return too_many(whole);
  if (const auto v4 = ipv4(part)) {
    addresses.push_back(v4_address(*v4));
    return {};
  }
  net::SocketAddress address;
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
  if (::inet_pton(AF_INET6, std::string(part).c_str(), &v6->sin6_addr) != 1) {
    return bad(whole, "'" + printable(part) + "' is not an IP address or range");
  }
  v6->sin6_family = AF_INET6;
  address.length = sizeof(sockaddr_in6);
  addresses.push_back(address);
  return {};
}

}  // namespace

Result<std::vector<net::SocketAddress>> parse_source_addresses(std::string_view text) {
  std::vector<net::SocketAddress> addresses;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string_view part = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (part.empty()) return bad(text, "an empty part");
    if (auto added = add_part(text, part, addresses); !added) return added.error();
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return addresses;
}

}  // namespace tcpka::tools
