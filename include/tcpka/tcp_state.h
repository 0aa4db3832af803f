// A snapshot of the kernel's view of one TCP connection (TCP_INFO on Linux).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "tcpka/duration.h"
#include "tcpka/native_socket.h"
#include "tcpka/result.h"

namespace tcpka {

// The TCP state machine's states, numbered as Linux numbers them.
enum class TcpConnectionState {
  established = 1,
  syn_sent,
  syn_received,
  fin_wait1,
  fin_wait2,
  time_wait,
  closed,
  close_wait,
  last_ack,
  listen,
  closing,
};

std::string_view to_string(TcpConnectionState state);

// Every field is optional: a kernel older than a field leaves it empty instead of zero,
// and so does a platform that does not report it.
struct TcpState {
  using Micros = std::chrono::microseconds;

  std::optional<TcpConnectionState> state;
  std::optional<Micros> rtt;           // smoothed round-trip time
  std::optional<Micros> rtt_variance;  // its mean deviation
  std::optional<Micros> rto;           // the current retransmission timeout
  // Keepalive or zero-window probes sent since the peer last answered.
  std::optional<int> probes;
  // Doublings of the retransmission or window-probe timer since the last answer.
  std::optional<int> backoff;
  // Timeouts of the oldest unacknowledged segment (retransmissions in a row).
  std::optional<int> retransmits;
  std::optional<std::uint32_t> unacked;            // segments sent, not yet acknowledged
  std::optional<std::uint32_t> total_retransmits;  // over the connection's life
  std::optional<std::uint32_t> notsent_bytes;      // queued, not yet sent (Linux 4.6+)
  std::optional<std::uint32_t> send_window;        // the peer's advertised window (Linux 5.4+)
  std::optional<Millis> since_data_sent;           // time since data was last sent
  std::optional<Millis> since_data_received;       // time since data was last received
  std::optional<Millis> since_ack_received;        // time since the peer last acknowledged

  bool operator==(const TcpState&) const = default;
};

// Takes a snapshot of a TCP socket. Works on a connection the kernel has already closed:
// the counters of its last moments stay readable.
Result<TcpState> read_tcp_state(NativeSocket socket);

}  // namespace tcpka
