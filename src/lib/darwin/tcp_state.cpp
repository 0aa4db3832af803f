// macOS: TcpState from getsockopt(TCP_CONNECTION_INFO).
//
// Untested: no macOS machine builds it (see README's platform table). Checked by eye
// against struct tcp_connection_info in XNU's bsd/netinet/tcp.h and against
// tcp_connection_fill_info() in bsd/netinet/tcp_usrreq.c, which fills it:
// - the kernel copies min(asked, its own) bytes and reports how many, so, as with
//   Linux's TCP_INFO, a field beyond that length stays empty;
// - tcpi_state is XNU's TCPS_* number (<netinet/tcp_fsm.h>), not Linux's;
// - times are milliseconds (XNU's TCP clock, TCP_RETRANSHZ, ticks 1000 times a second);
//   tcpi_rto is the RTO only while the retransmission timer runs, and 0 otherwise.
// It gives no probe, backoff or consecutive-retransmission count, no segments in flight,
// no unsent bytes (tcpi_snd_sbbytes counts the unacknowledged ones too) and no times
// since the last send or receive: those fields stay empty.
#include "tcpka/tcp_state.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/tcp_fsm.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "../platform.h"

namespace tcpka {
namespace {

// Whether `length` bytes of tcp_connection_info include the field at `offset` of `size`
// bytes.
constexpr bool covers(socklen_t length, std::size_t offset, std::size_t size) {
  return static_cast<std::size_t>(length) >= offset + size;
}

#define TCPKA_HAS_FIELD(length, field)                        \
  covers(length, offsetof(struct tcp_connection_info, field), \
         sizeof(static_cast<tcp_connection_info*>(nullptr)->field))

std::optional<TcpConnectionState> connection_state(int xnu_state) {
  switch (xnu_state) {
    case TCPS_CLOSED:
      return TcpConnectionState::closed;
    case TCPS_LISTEN:
      return TcpConnectionState::listen;
    case TCPS_SYN_SENT:
      return TcpConnectionState::syn_sent;
    case TCPS_SYN_RECEIVED:
      return TcpConnectionState::syn_received;
    case TCPS_ESTABLISHED:
      return TcpConnectionState::established;
    case TCPS_CLOSE_WAIT:
      return TcpConnectionState::close_wait;
    case TCPS_FIN_WAIT_1:
      return TcpConnectionState::fin_wait1;
    case TCPS_CLOSING:
      return TcpConnectionState::closing;
    case TCPS_LAST_ACK:
      return TcpConnectionState::last_ack;
    case TCPS_FIN_WAIT_2:
      return TcpConnectionState::fin_wait2;
    case TCPS_TIME_WAIT:
      return TcpConnectionState::time_wait;
    default:
      return std::nullopt;
  }
}

}  // namespace

Result<TcpState> read_tcp_state(NativeSocket fd) {
  if (auto tcp = detail::check_tcp_socket(fd); !tcp) return tcp.error();
  tcp_connection_info info{};
  socklen_t length = sizeof(info);
  if (::getsockopt(fd, IPPROTO_TCP, TCP_CONNECTION_INFO, &info, &length) != 0) {
    const int error = errno;
    return errno_error(error, "getsockopt(IPPROTO_TCP/TCP_CONNECTION_INFO) on fd " +
                                  std::to_string(fd) + ": " +
                                  std::generic_category().message(error));
  }

  TcpState state;
  using Micros = TcpState::Micros;
  if (TCPKA_HAS_FIELD(length, tcpi_state)) state.state = connection_state(info.tcpi_state);
  if (TCPKA_HAS_FIELD(length, tcpi_srtt)) state.rtt = Micros(Millis(info.tcpi_srtt));
  if (TCPKA_HAS_FIELD(length, tcpi_rttvar)) {
    state.rtt_variance = Micros(Millis(info.tcpi_rttvar));
  }
  // Zero is "no retransmission timer running", not an RTO of zero.
  if (TCPKA_HAS_FIELD(length, tcpi_rto) && info.tcpi_rto > 0) {
    state.rto = Micros(Millis(info.tcpi_rto));
  }
  if (TCPKA_HAS_FIELD(length, tcpi_snd_wnd)) state.send_window = info.tcpi_snd_wnd;
  if (TCPKA_HAS_FIELD(length, tcpi_txretransmitpackets)) {
    // Packets retransmitted over the connection's life, 64 bits wide here.
    state.total_retransmits = static_cast<std::uint32_t>(std::min<std::uint64_t>(
        info.tcpi_txretransmitpackets, std::numeric_limits<std::uint32_t>::max()));
  }
  return state;
}

#undef TCPKA_HAS_FIELD

}  // namespace tcpka
