#include "host/tcp_death.h"

namespace tcpka::host {
namespace {

bool peer_closed_first(TcpConnectionState state) {
  return state == TcpConnectionState::close_wait || state == TcpConnectionState::last_ack;
}

CloseCause cause_seen_by_bpf(const TcpDeath& death) {
  if (!death.error) {
    // No error: an orderly end, or this side's abort. Who sent the first FIN decides.
    return peer_closed_first(*death.old_state) ? CloseCause::peer_closed : CloseCause::local;
  }
  TcpState last;
  last.retransmits = death.retransmits;
  last.probes = death.probes;
  // The kernel purges the queue before the close: what was in flight is the sequence
  // space between the last acknowledged byte and the next to send.
  last.unacked = death.in_flight_bytes.value_or(0) > 0 ? 1U : 0U;
  last.notsent_bytes = death.unsent_bytes;
  CloseEvidence evidence;
  evidence.error = death.error;
  evidence.keepalive_armed = death.keepalive_on.value_or(false);
  evidence.user_timeout_armed = death.user_timeout.value_or(Millis(0)) > Millis(0);
  evidence.last_state = last;
  return classify_close(evidence);
}

}  // namespace

CloseCause cause_of(const TcpDeath& death) {
  if (death.old_state) return cause_seen_by_bpf(death);
  // Probes out, nothing retransmitted, nothing held back by a shut window: keepalive's.
  // (A RST answering a probe, a rebooted peer's, looks the same here: only BPF sees it.)
  if (death.probes.value_or(0) > 0 && death.retransmits.value_or(0) == 0 &&
      death.unsent_bytes.value_or(0) == 0) {
    return CloseCause::keepalive_timeout;
  }
  return CloseCause::unknown;
}

bool detected_by_kernel(CloseCause cause) {
  switch (cause) {
    case CloseCause::keepalive_timeout:
    case CloseCause::user_timeout:
    case CloseCause::retransmit_timeout:
    case CloseCause::zero_window_timeout:
    case CloseCause::unreachable:
      return true;
    default:
      return false;
  }
}

}  // namespace tcpka::host
