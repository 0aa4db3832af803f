#include "policy/live_socket.h"

#include <chrono>

#include "net/connect.h"
#include "net/endpoint.h"
#include "tcpka/socket_options.h"

namespace tcpka::tools {

constexpr std::chrono::seconds kConnectTimeout{5};

std::variant<LiveSocket, LiveProbeFailure> probe_live_socket(const std::string& endpoint_text,
                                                             const Policy& policy,
                                                             const ResolvedPolicy& expected,
                                                             const ApplyOptions& options) {
  auto endpoint = net::parse_endpoint(endpoint_text);
  if (!endpoint) return LiveProbeFailure{"--fd-of: " + endpoint.error().message, kExitBadInput};
  auto addresses = net::resolve(*endpoint);
  if (!addresses) return LiveProbeFailure{"--fd-of: " + addresses.error().message, kExitBadInput};
  Applied applied;
  const auto apply = [&](int fd) -> Result<void> {
    auto result = apply_policy(fd, policy, options);
    if (!result) return result.error();
    applied = *result;
    return {};
  };
  std::string last_error;
  for (const net::SocketAddress& address : *addresses) {
    auto socket = net::connect_tcp(address, kConnectTimeout, apply);
    if (!socket) {
      last_error = socket.error().message;
      continue;
    }
    auto reading = read_back(socket->get());
    if (!reading) return LiveProbeFailure{reading.error().message, kExitCheckFailed};
    return LiveSocket{net::to_string(address), applied, *reading,
                      reading_matches(*reading, expected)};
  }
  return LiveProbeFailure{"--fd-of: " + last_error, kExitBadInput};
}

}  // namespace tcpka::tools
