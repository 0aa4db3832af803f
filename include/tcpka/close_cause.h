// Why a connection ended, and how to tell from what the kernel left behind.
#pragma once

#include <optional>
#include <string_view>
#include <system_error>

#include "tcpka/tcp_state.h"

namespace tcpka {

enum class CloseCause {
  peer_closed,          // the peer sent FIN: read() returned 0
  peer_reset,           // the peer sent RST (ECONNRESET, EPIPE): its process or host is gone
  keepalive_timeout,    // keepalive probes to an idle connection went unanswered
  user_timeout,         // TCP_USER_TIMEOUT ran out with data unacknowledged or a closed window
  retransmit_timeout,   // tcp_retries2 retransmissions went unanswered (no user timeout)
  zero_window_timeout,  // the peer's window stayed shut and tcp_retries2 window probes went
                        // unanswered (no user timeout)
  unreachable,          // an ICMP unreachable ended it (EHOSTUNREACH, ENETUNREACH, ...)
  connect_timeout,      // connect(): the SYN was never answered
  connect_refused,      // connect(): the SYN was answered with RST
  heartbeat_timeout,    // the application's heartbeat went unanswered
  too_many_pings,       // the peer pinged more often than the application allows
  protocol_error,       // the peer sent bytes the application's protocol does not allow
  idle_timeout,         // the application closed a connection silent for too long
  slow_reader,          // the application closed a peer that stopped reading
  local,                // this side closed or aborted it (ECONNABORTED: ss -K, SOCK_DESTROY)
  unknown,
};

// How many causes there are, for tables indexed by cause.
inline constexpr int kCloseCauseCount = static_cast<int>(CloseCause::unknown) + 1;

// "keepalive_timeout", the same spelling as the enumerator.
std::string_view to_string(CloseCause cause);
std::optional<CloseCause> close_cause_from_string(std::string_view text);

// What an application knows when the kernel ends a connection.
struct CloseEvidence {
  bool end_of_file = false;  // read() returned 0
  std::error_code error;     // from read, write, connect or SO_ERROR; empty if none
  bool connecting = false;   // the connection was not yet established
  bool keepalive_armed = false;
  bool user_timeout_armed = false;
  // A TCP_INFO snapshot taken shortly before the end, or right after it (the kernel
  // keeps the counters of a closed connection).
  std::optional<TcpState> last_state;
};

// Turns kernel evidence into a cause. The application-level causes (heartbeat_timeout,
// too_many_pings, protocol_error, idle_timeout, slow_reader, local) are never inferred:
// the application knows them.
CloseCause classify_close(const CloseEvidence& evidence);

}  // namespace tcpka
