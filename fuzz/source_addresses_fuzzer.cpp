// parse_source_addresses (connect's --source) on any option value: it never crashes,
// every address it returns is a complete IPv4 or IPv6 socket address, and there are at
// most 65536 of them whatever the value asks for (run_all.sh's -rss_limit_mb catches a
// parse that tries to hold more).
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "connect/source_addresses.h"
#include "property.h"

using tcpka::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = tcpka::fuzz::as_c_string(data, size);
  auto addresses = tcpka::tools::parse_source_addresses(text);
  if (!addresses) {
    tcpka::fuzz::require_one_line(addresses.error().message, text);
    return 0;
  }
  require(!addresses->empty(), "at least one address", std::string(text));
  require(addresses->size() <= 65'536, "at most 65536 addresses in all", std::string(text));
  for (const auto& address : *addresses) {
    require((address.family() == AF_INET && address.length == sizeof(sockaddr_in)) ||
                (address.family() == AF_INET6 && address.length == sizeof(sockaddr_in6)),
            "a complete socket address", std::string(text));
  }
  return 0;
}
