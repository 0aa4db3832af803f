// Linux: TcpState from the bytes of a struct tcp_info, wherever they came from
// (getsockopt(TCP_INFO) in tcp_state.cpp, sock_diag's INET_DIAG_INFO in src/net).
//
// The kernel copies min(asked, its own) bytes of struct tcp_info and reports how many;
// fields beyond that length did not exist in the running kernel and stay empty. Only
// <linux/tcp.h> is included here: it and glibc's <netinet/tcp.h> both define tcp_info.
#include <linux/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstddef>

#include "tcpka/linux_tcp_info.h"

namespace tcpka {
namespace {

// Whether `length` bytes of tcp_info include the field at `offset` of `size` bytes.
constexpr bool covers(socklen_t length, std::size_t offset, std::size_t size) {
  return static_cast<std::size_t>(length) >= offset + size;
}

#define TCPKA_HAS_FIELD(length, field) \
  covers(length, offsetof(struct tcp_info, field), sizeof(static_cast<tcp_info*>(nullptr)->field))

}  // namespace

TcpState tcp_state_from_linux_tcp_info(std::span<const std::byte> bytes) {
  // Copied out: sock_diag's attribute is aligned to 4 bytes only, and may be shorter.
  tcp_info info{};
  const std::size_t copied = std::min(bytes.size(), sizeof(info));
  std::copy_n(bytes.data(), copied, reinterpret_cast<std::byte*>(&info));
  const auto length = static_cast<socklen_t>(copied);

  TcpState state;
  using Micros = TcpState::Micros;
  if (TCPKA_HAS_FIELD(length, tcpi_state) && info.tcpi_state >= 1 && info.tcpi_state <= 11) {
    state.state = static_cast<TcpConnectionState>(info.tcpi_state);
  }
  if (TCPKA_HAS_FIELD(length, tcpi_retransmits)) state.retransmits = info.tcpi_retransmits;
  if (TCPKA_HAS_FIELD(length, tcpi_probes)) state.probes = info.tcpi_probes;
  if (TCPKA_HAS_FIELD(length, tcpi_backoff)) state.backoff = info.tcpi_backoff;
  if (TCPKA_HAS_FIELD(length, tcpi_rto)) state.rto = Micros(info.tcpi_rto);
  if (TCPKA_HAS_FIELD(length, tcpi_unacked)) state.unacked = info.tcpi_unacked;
  if (TCPKA_HAS_FIELD(length, tcpi_last_data_sent)) {
    state.since_data_sent = Millis(info.tcpi_last_data_sent);
  }
  if (TCPKA_HAS_FIELD(length, tcpi_last_data_recv)) {
    state.since_data_received = Millis(info.tcpi_last_data_recv);
  }
  if (TCPKA_HAS_FIELD(length, tcpi_last_ack_recv)) {
    state.since_ack_received = Millis(info.tcpi_last_ack_recv);
  }
  if (TCPKA_HAS_FIELD(length, tcpi_rtt)) state.rtt = Micros(info.tcpi_rtt);
  if (TCPKA_HAS_FIELD(length, tcpi_rttvar)) state.rtt_variance = Micros(info.tcpi_rttvar);
  if (TCPKA_HAS_FIELD(length, tcpi_total_retrans)) {
    state.total_retransmits = info.tcpi_total_retrans;
  }
  if (TCPKA_HAS_FIELD(length, tcpi_notsent_bytes)) state.notsent_bytes = info.tcpi_notsent_bytes;
  if (TCPKA_HAS_FIELD(length, tcpi_snd_wnd)) state.send_window = info.tcpi_snd_wnd;
  return state;
}

#undef TCPKA_HAS_FIELD

}  // namespace tcpka
