#include "tcpka/tcp_state.h"

namespace tcpka {

std::string_view to_string(TcpConnectionState state) {
  switch (state) {
    case TcpConnectionState::established:
      return "ESTABLISHED";
    case TcpConnectionState::syn_sent:
      return "SYN_SENT";
    case TcpConnectionState::syn_received:
      return "SYN_RECV";
    case TcpConnectionState::fin_wait1:
      return "FIN_WAIT1";
    case TcpConnectionState::fin_wait2:
      return "FIN_WAIT2";
    case TcpConnectionState::time_wait:
      return "TIME_WAIT";
    case TcpConnectionState::closed:
      return "CLOSE";
    case TcpConnectionState::close_wait:
      return "CLOSE_WAIT";
    case TcpConnectionState::last_ack:
      return "LAST_ACK";
    case TcpConnectionState::listen:
      return "LISTEN";
    case TcpConnectionState::closing:
      return "CLOSING";
  }
  return "UNKNOWN";
}

}  // namespace tcpka
