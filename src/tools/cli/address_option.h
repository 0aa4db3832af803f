// An option's ADDR:PORT value ("127.0.0.1:9977", "[::1]:0", "localhost:7001"), resolved
// to one address, with the option named in the error; port 0 lets the kernel pick.
#pragma once

#include <string>
#include <string_view>

#include "net/endpoint.h"
#include "tcpka/result.h"

namespace tcpka::tools {

inline Result<net::SocketAddress> address_option(std::string_view option, const std::string& text) {
  auto endpoint = net::parse_endpoint(text, net::PortZero::allowed);
  if (!endpoint) return invalid_argument(std::string(option) + ": " + endpoint.error().message);
  auto addresses = net::resolve(*endpoint);
  if (!addresses) return invalid_argument(std::string(option) + ": " + addresses.error().message);
  return addresses->front();
}

}  // namespace tcpka::tools
