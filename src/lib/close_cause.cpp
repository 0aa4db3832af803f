#include "tcpka/close_cause.h"

#include <array>
#include <cerrno>
#include <utility>

#include "platform.h"

namespace tcpka {
namespace {

constexpr std::array<std::pair<CloseCause, std::string_view>, 16> kNames{{
    {CloseCause::peer_closed, "peer_closed"},
    {CloseCause::peer_reset, "peer_reset"},
    {CloseCause::keepalive_timeout, "keepalive_timeout"},
    {CloseCause::user_timeout, "user_timeout"},
    {CloseCause::retransmit_timeout, "retransmit_timeout"},
    {CloseCause::zero_window_timeout, "zero_window_timeout"},
    {CloseCause::unreachable, "unreachable"},
    {CloseCause::connect_timeout, "connect_timeout"},
    {CloseCause::connect_refused, "connect_refused"},
    {CloseCause::heartbeat_timeout, "heartbeat_timeout"},
    {CloseCause::too_many_pings, "too_many_pings"},
    {CloseCause::protocol_error, "protocol_error"},
    {CloseCause::idle_timeout, "idle_timeout"},
    {CloseCause::slow_reader, "slow_reader"},
    {CloseCause::local, "local"},
    {CloseCause::unknown, "unknown"},
}};

// What the last TCP_INFO snapshot says the connection was doing when it died. Linux
// keeps these counters after it ends a connection (measured on 6.18): retransmits after a
// retransmission timeout, probes after keepalive, and the unsent bytes after a window
// timeout, whose backoff it resets. Taken earlier, unacked and backoff tell the same.
enum class TimerAtWork { unknown, retransmission, window_probe, keepalive };

TimerAtWork timer_at_work(const std::optional<TcpState>& state) {
  if (!state) return TimerAtWork::unknown;
  if (state->unacked.value_or(0) > 0 || state->retransmits.value_or(0) > 0) {
    return TimerAtWork::retransmission;
  }
  // Data waits unsent with nothing in flight only behind a shut window (keepalive never
  // runs while data waits).
  if (state->notsent_bytes.value_or(0) > 0 || state->backoff.value_or(0) > 0) {
    return TimerAtWork::window_probe;
  }
  if (state->probes.value_or(0) > 0) return TimerAtWork::keepalive;
  return TimerAtWork::unknown;
}

bool is_connecting(const CloseEvidence& evidence) {
  return evidence.connecting ||
         (evidence.last_state && evidence.last_state->state == TcpConnectionState::syn_sent);
}

CloseCause classify_timeout(const CloseEvidence& evidence) {
  if (is_connecting(evidence)) return CloseCause::connect_timeout;
  switch (timer_at_work(evidence.last_state)) {
    case TimerAtWork::retransmission:
      return evidence.user_timeout_armed ? CloseCause::user_timeout
                                         : CloseCause::retransmit_timeout;
    case TimerAtWork::window_probe:
      return evidence.user_timeout_armed ? CloseCause::user_timeout
                                         : CloseCause::zero_window_timeout;
    case TimerAtWork::keepalive:
      return CloseCause::keepalive_timeout;
    case TimerAtWork::unknown:
      break;
  }
  // No counters to go by: an idle connection can only time out through keepalive.
  if (evidence.keepalive_armed) return CloseCause::keepalive_timeout;
  if (evidence.user_timeout_armed) return CloseCause::user_timeout;
  return CloseCause::unknown;
}

}  // namespace

std::string_view to_string(CloseCause cause) {
  for (const auto& [value, name] : kNames) {
    if (value == cause) return name;
  }
  return "unknown";
}

std::optional<CloseCause> close_cause_from_string(std::string_view text) {
  for (const auto& [value, name] : kNames) {
    if (name == text) return value;
  }
  return std::nullopt;
}

CloseCause classify_close(const CloseEvidence& evidence) {
  if (evidence.end_of_file) return CloseCause::peer_closed;
  const std::error_code error = detail::portable_error(evidence.error);
  // Compared as conditions, so that a platform's own codes (Winsock's) match too.
  if (error == std::errc::timed_out) return classify_timeout(evidence);
  if (error == std::errc::connection_reset || error == std::errc::broken_pipe) {
    return CloseCause::peer_reset;
  }
  if (error == std::errc::connection_refused) return CloseCause::connect_refused;
  if (error == std::errc::connection_aborted) return CloseCause::local;
  if (error == std::errc::host_unreachable || error == std::errc::network_unreachable ||
      error == std::errc::network_down || error == detail::host_down_error()) {
    return CloseCause::unreachable;
  }
  return CloseCause::unknown;
}

}  // namespace tcpka
