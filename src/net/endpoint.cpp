#include "endpoint.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>
#include <memory>

namespace tcpka::net {
namespace {

Error bad_endpoint(std::string_view text, const std::string& why) {
  return invalid_argument("'" + printable(text) + "' is not HOST:PORT: " + why);
}

}  // namespace

Result<Endpoint> parse_endpoint(std::string_view text, PortZero zero) {
  Endpoint endpoint;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return bad_endpoint(text, "missing ']'");
    endpoint.host = std::string(text.substr(1, close - 1));
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      return bad_endpoint(text, "expected :PORT after ']'");
    }
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad_endpoint(text, "missing :PORT");
    endpoint.host = std::string(text.substr(0, colon));
    if (endpoint.host.find(':') != std::string::npos) {
      return bad_endpoint(text, "write an IPv6 address in brackets, as [::1]:7001");
    }
    port = text.substr(colon + 1);
  }
  if (endpoint.host.empty()) return bad_endpoint(text, "the host is empty");
  unsigned value = 0;
  const auto [end, status] = std::from_chars(port.data(), port.data() + port.size(), value);
  const unsigned lowest = zero == PortZero::allowed ? 0 : 1;
  if (status != std::errc() || end != port.data() + port.size() || value < lowest ||
      value > 65535) {
    return bad_endpoint(text,
                        "the port must be a number from " + std::to_string(lowest) + " to 65535");
  }
  endpoint.port = static_cast<std::uint16_t>(value);
  return endpoint;
}

Result<std::vector<SocketAddress>> resolve(const Endpoint& endpoint) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(endpoint.port);
  const int status = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &found);
  if (status != 0) {
    return invalid_argument("cannot resolve '" + endpoint.host + "': " + ::gai_strerror(status));
  }
  const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(found, &::freeaddrinfo);
  std::vector<SocketAddress> addresses;
  for (const addrinfo* info = found; info != nullptr; info = info->ai_next) {
    SocketAddress address;
    std::memcpy(&address.storage, info->ai_addr, info->ai_addrlen);
    address.length = info->ai_addrlen;
    addresses.push_back(address);
  }
  return addresses;
}

std::string to_string(const SocketAddress& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.family() == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address.storage);
    ::inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    return "[" + std::string(text) + "]:" + std::to_string(ntohs(v6->sin6_port));
  }
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address.storage);
  ::inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
  return std::string(text) + ":" + std::to_string(ntohs(v4->sin_port));
}

}  // namespace tcpka::net
