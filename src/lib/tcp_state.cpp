#include "tcpka/tcp_state.h"

namespace tcpka {

std::string_view to_string(TcpConnectionState state) {
  // The kernel's names (ss prints them), in the kernel's numbering from 1.
  static constexpr std::string_view kNames[] = {
      "ESTABLISHED", "SYN_SENT",   "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
      "CLOSE",       "CLOSE_WAIT", "LAST_ACK", "LISTEN",    "CLOSING",
  };
  const int index = static_cast<int>(state) - 1;
  return index >= 0 && index < 11 ? kNames[index] : "UNKNOWN";
}

}  // namespace tcpka
