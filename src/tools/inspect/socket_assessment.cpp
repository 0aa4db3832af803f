#include "inspect/socket_assessment.h"

namespace tcpka::tools {
namespace {

using Timer = net::TcpSocketEntry::Timer;

KeepaliveKnown keepalive_of(const net::TcpSocketEntry& entry,
                            const std::optional<host::SocketSettings>& settings) {
  if (settings) return settings->policy.keepalive ? KeepaliveKnown::on : KeepaliveKnown::off;
  // An established socket with SO_KEEPALIVE always has its keepalive timer pending; one
  // whose retransmission or window timer runs hides it.
  if (entry.state != TcpConnectionState::established) return KeepaliveKnown::unknown;
  if (entry.timer == Timer::keepalive) return KeepaliveKnown::on;
  if (entry.timer == Timer::none) return KeepaliveKnown::off;
  return KeepaliveKnown::unknown;
}

PathFacts path_of(const net::TcpSocketEntry& entry) {
  PathFacts path;
  if (entry.tcp && entry.tcp->rtt) {
    path.rtt = std::chrono::duration_cast<Millis>(*entry.tcp->rtt);
  }
  if (entry.tcp && entry.tcp->rto) {
    path.rto = std::chrono::duration_cast<Millis>(*entry.tcp->rto);
  }
  return path;
}

}  // namespace

std::string_view to_string(RiskFlag flag) {
  switch (flag) {
    case RiskFlag::keepalive_off:
      return "keepalive_off";
    case RiskFlag::beyond_middlebox:
      return "beyond_middlebox";
    case RiskFlag::in_flight_without_user_timeout:
      return "in_flight_without_user_timeout";
    case RiskFlag::probing:
      return "probing";
    case RiskFlag::retransmitting:
      return "retransmitting";
    case RiskFlag::peer_window_shut:
      return "peer_window_shut";
  }
  return "?";
}

std::string_view explain(RiskFlag flag) {
  switch (flag) {
    case RiskFlag::keepalive_off:
      return "An established connection without SO_KEEPALIVE: if its peer's host crashes, "
             "reboots or drops off the network while the connection is idle, this side never "
             "learns it; the connection and what it holds stay until the program closes it.";
    case RiskFlag::beyond_middlebox:
      return "The connection may stay silent longer than the middlebox (--middlebox) keeps an "
             "idle flow: keepalive is off, or its idle time is not below the middlebox's "
             "timeout. The middlebox then forgets the flow, and the next segment either side "
             "sends vanishes or draws an RST. Keepalive idle below the timeout keeps the flow.";
    case RiskFlag::in_flight_without_user_timeout:
      return "Data is unacknowledged and no TCP_USER_TIMEOUT is set: keepalive does not probe "
             "while data is in flight, so a dead peer is found only when tcp_retries2 "
             "retransmissions have gone unanswered (about 15.4 minutes for the default 15). "
             "A user timeout bounds it.";
    case RiskFlag::probing:
      return "Keepalive probes are out and unanswered: the peer has been silent past the idle "
             "time. It is a half-open connection in the making; it ends when the count runs "
             "out (or the user timeout passes) unless the peer answers.";
    case RiskFlag::retransmitting:
      return "The oldest unacknowledged segment has been retransmitted and the timer is backing "
             "off: the path or the peer is losing segments, or the peer is gone.";
    case RiskFlag::peer_window_shut:
      return "The peer's receive window is shut and this side probes it (the persist timer): "
             "the peer's application is not reading. Without a user timeout the probes go on "
             "as long as the peer's kernel answers them.";
  }
  return "";
}

Assessment assess(const net::TcpSocketEntry& entry,
                  const std::optional<host::SocketSettings>& settings, const SystemDefaults& system,
                  const std::optional<Middlebox>& middlebox) {
  Assessment assessment;
  assessment.keepalive = keepalive_of(entry, settings);
  if (entry.state != TcpConnectionState::established) return assessment;

  const PathFacts path = path_of(entry);
  if (settings) {
    assessment.idle =
        predict(PeerFailure::host_silent, Activity::idle, settings->policy, system, path);
    assessment.in_flight =
        predict(PeerFailure::host_silent, Activity::sending, settings->policy, system, path);
  }

  std::vector<RiskFlag>& flags = assessment.flags;
  const bool keepalive_off = assessment.keepalive == KeepaliveKnown::off;
  if (keepalive_off) flags.push_back(RiskFlag::keepalive_off);
  if (middlebox && (keepalive_off || (settings && settings->policy.keepalive &&
                                      settings->policy.idle >= middlebox->idle_timeout))) {
    flags.push_back(RiskFlag::beyond_middlebox);
  }
  const std::uint32_t unacked = entry.tcp && entry.tcp->unacked ? *entry.tcp->unacked : 0;
  if (unacked > 0 && settings && settings->policy.user_timeout.count() == 0) {
    flags.push_back(RiskFlag::in_flight_without_user_timeout);
  }
  if (entry.timer == Timer::keepalive && entry.tcp && entry.tcp->probes.value_or(0) > 0) {
    flags.push_back(RiskFlag::probing);
  }
  if (entry.timer == Timer::retransmit && entry.tcp && entry.tcp->retransmits.value_or(0) > 0) {
    flags.push_back(RiskFlag::retransmitting);
  }
  if (entry.timer == Timer::zero_window_probe) flags.push_back(RiskFlag::peer_window_shut);
  return assessment;
}

}  // namespace tcpka::tools
