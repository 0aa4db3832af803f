// The TCP sockets of a network namespace, as `ss -tan -o` lists them, through the
// kernel's sock_diag netlink interface (libmnl): seen from outside the program that owns
// them, which is how the lab watches a server it did not write.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "net/compact_address.h"
#include "net/net_namespace.h"
#include "tcpka/result.h"
#include "tcpka/tcp_state.h"

namespace tcpka::net {

struct TcpSocketEntry {
  CompactAddress local;
  CompactAddress remote;
  TcpConnectionState state = TcpConnectionState::closed;
  // Which timer runs (idiag_timer): none, retransmission (or window probe), keepalive.
  enum class Timer : std::uint8_t { none, retransmit, keepalive, time_wait, zero_window_probe };
  Timer timer = Timer::none;
  std::uint32_t timer_expires_ms = 0;
  std::uint8_t retransmits = 0;  // idiag_retrans: probes or retransmissions in a row
  std::uint32_t inode = 0;       // its file's inode (/proc/PID/fd); 0 once no file holds it
  std::uint32_t uid = 0;         // the uid that created it
  std::uint64_t cookie = 0;      // the kernel's id for it, unique on the host while it lives
  // TCP_INFO (INET_DIAG_INFO), when the dump asked for it and the socket is a full one.
  std::optional<TcpState> tcp;
};

struct TcpDumpOptions {
  bool tcp_info = false;  // ask for each socket's TCP_INFO too (the idle clock, probes...)
};

// Every TCP socket of `ns` (IPv4 and IPv6), in any state.
Result<std::vector<TcpSocketEntry>> list_tcp_sockets(const NetNamespace& ns,
                                                     const TcpDumpOptions& options = {});

}  // namespace tcpka::net
