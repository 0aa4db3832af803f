// The source addresses a client spreads its connections over, so that one client can
// open more connections to one server port than one address has ports (about 28,000).
#pragma once

#include <string_view>
#include <vector>

#include "net/endpoint.h"
#include "tcpka/result.h"

namespace tcpka::tools {

// "127.0.0.2-127.0.0.250" (an IPv4 range, at most 65,536 addresses), "127.0.0.5" or
// "::1" (one address), or several of these separated by commas.
Result<std::vector<net::SocketAddress>> parse_source_addresses(std::string_view text);

}  // namespace tcpka::tools
