// What one socket's settings mean: when a dead peer would be noticed, idle and with data
// in flight (the detection model with the socket's own settings and path), and what puts
// the connection at risk. Pure: the same facts give the same answer.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "host/socket_settings.h"
#include "net/sock_diag.h"
#include "tcpka/detection_model.h"
#include "tcpka/middleboxes.h"
#include "tcpka/system_defaults.h"

namespace tcpka::tools {

enum class RiskFlag {
  keepalive_off,                   // an established connection nothing probes
  beyond_middlebox,                // silent longer than the middlebox keeps a flow
  in_flight_without_user_timeout,  // unacked data, found dead only after tcp_retries2
  probing,                         // keepalive probes out: the peer is not answering
  retransmitting,                  // retransmissions in a row, the timer backing off
  peer_window_shut,                // the persist timer probes a shut receive window
};
inline constexpr RiskFlag kRiskFlags[] = {
    RiskFlag::keepalive_off, RiskFlag::beyond_middlebox, RiskFlag::in_flight_without_user_timeout,
    RiskFlag::probing,       RiskFlag::retransmitting,   RiskFlag::peer_window_shut};

std::string_view to_string(RiskFlag flag);  // "keepalive_off"
std::string_view explain(RiskFlag flag);    // a paragraph for --explain

// What is known of SO_KEEPALIVE without the settings: sock_diag's timer tells for an
// established connection (a keepalive timer runs, or no timer at all).
enum class KeepaliveKnown { on, off, unknown };

struct Assessment {
  KeepaliveKnown keepalive = KeepaliveKnown::unknown;
  std::optional<Detection> idle;       // a silent peer, this side idle (established only)
  std::optional<Detection> in_flight;  // a silent peer, this side sending
  std::vector<RiskFlag> flags;
};

Assessment assess(const net::TcpSocketEntry& entry,
                  const std::optional<host::SocketSettings>& settings, const SystemDefaults& system,
                  const std::optional<Middlebox>& middlebox);

}  // namespace tcpka::tools
