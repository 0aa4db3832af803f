// A TCP connection of the host that has just ended, as a host-wide source saw it: the
// BPF tracepoint program (tcp_death_stream.h) sees the moment, its errno and the states
// it passed; the sock_diag destroy groups (destroy_listener.h) see only the socket's
// TCP_INFO when it is freed. What a source cannot see stays empty, never guessed.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>

#include "net/compact_address.h"
#include "tcpka/close_cause.h"
#include "tcpka/duration.h"
#include "tcpka/tcp_state.h"

namespace tcpka::host {

enum class DeathSource { bpf, sock_diag };

struct TcpDeath {
  std::chrono::system_clock::time_point when;
  net::CompactAddress local;
  net::CompactAddress remote;
  std::uint64_t netns_inode = 0;
  std::uint64_t inode = 0;      // its file's inode; 0 once its program has closed it
  std::uint64_t cgroup_id = 0;  // cgroup v2 id of the process that made it; 0: not known
  pid_t owner_pid = 0;          // the process that connected or accepted it; 0: not known
  std::string owner_name;

  // BPF only: the state it left for CLOSE, and sk_err then (empty: none).
  std::optional<TcpConnectionState> old_state;
  std::error_code error;
  std::optional<bool> peer_fin;    // the peer's FIN had arrived
  std::optional<bool> reset_sent;  // this side sent a RST
  std::optional<bool> keepalive_on;
  std::optional<Millis> user_timeout;  // 0: none
  std::optional<std::uint32_t> in_flight_bytes;

  // Both sources.
  std::optional<std::uint32_t> unsent_bytes;
  std::optional<Millis> lifetime;  // since it was established
  std::optional<Millis> silent;    // since the peer's last segment
  std::optional<int> probes;       // keepalive or window probes out at the end
  std::optional<int> retransmits;  // retransmissions in a row at the end
  std::optional<std::uint32_t> total_retransmits;
  std::optional<std::uint64_t> bytes_in;
  std::optional<std::uint64_t> bytes_out;
};

// Why it ended. From BPF: the errno and the states say it (peer_closed, local and the
// timeouts told apart by what was queued and which probes were out). From sock_diag:
// only what TCP_INFO shows at the free: keepalive probes out with nothing retransmitted
// is a keepalive death; anything else is `unknown` (its errno and who closed first are
// gone by then).
CloseCause cause_of(const TcpDeath& death);

// Whether the kernel found the peer dead (the causes a detection time is measured for).
bool detected_by_kernel(CloseCause cause);

}  // namespace tcpka::host
