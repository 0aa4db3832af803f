// parse_endpoint (--listen, --metrics, connect's target) on any option value: it never
// crashes, the port is in range, and a numeric address survives the trip to a socket
// address and back through to_string().
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "net/endpoint.h"
#include "property.h"

using tcpka::fuzz::require;

namespace {

// The socket address of a numeric host, built without the resolver (no DNS from a fuzzer).
std::optional<tcpka::net::SocketAddress> numeric(const tcpka::net::Endpoint& endpoint) {
  tcpka::net::SocketAddress address;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
  if (::inet_pton(AF_INET, endpoint.host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(endpoint.port);
    address.length = sizeof(sockaddr_in);
    return address;
  }
  if (::inet_pton(AF_INET6, endpoint.host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(endpoint.port);
    address.length = sizeof(sockaddr_in6);
    return address;
  }
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = tcpka::fuzz::as_c_string(data, size);
  for (const auto zero : {tcpka::net::PortZero::rejected, tcpka::net::PortZero::allowed}) {
    auto endpoint = tcpka::net::parse_endpoint(text, zero);
    if (!endpoint) {
      tcpka::fuzz::require_one_line(endpoint.error().message, text);
      continue;
    }
    require(!endpoint->host.empty(), "a host is given", std::string(text));
    require(endpoint->port != 0 || zero == tcpka::net::PortZero::allowed, "port 0 only if allowed",
            std::string(text));
    const auto address = numeric(*endpoint);
    if (!address) continue;
    const std::string printed = tcpka::net::to_string(*address);
    auto again = tcpka::net::parse_endpoint(printed, zero);
    require(again.ok() && again->port == endpoint->port, "to_string's text parses",
            std::string(text) + " -> " + printed);
    const auto same = numeric(*again);
    require(same && same->length == address->length &&
                std::memcmp(&same->storage, &address->storage, address->length) == 0,
            "the same address back", std::string(text) + " -> " + printed);
  }
  return 0;
}
