// Each platform's stock TCP defaults, as its documentation or source gives them. Like the
// limits in policy.cpp they are data about a platform, not code that runs on it, so that
// a prediction can be made for any platform from any other.
#include "tcpka/system_defaults.h"

namespace tcpka {

SystemDefaults documented_defaults(TcpStack stack) {
  SystemDefaults defaults;  // a stock Linux kernel's
  defaults.stack = stack;
  switch (stack) {
    case TcpStack::linux_kernel:
      break;
    case TcpStack::windows:
      // HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters: KeepAliveTime 7,200,000
      // ms, KeepAliveInterval 1,000 ms; 10 probes, fixed since Vista; TcpMaxDataRetransmissions
      // 5 (retransmissions of one segment, counted, not timed); TcpMaxConnectRetransmissions
      // 2 from TcpInitialRTT 3 s (netsh's InitialRto 3000); MinRto 300 ms.
      defaults.keepalive_time = Millis(7'200'000);
      defaults.keepalive_interval = Millis(1'000);
      defaults.keepalive_probes = 10;
      defaults.retries2 = 5;
      defaults.syn_retries = 2;
      defaults.syn_linear_timeouts = 0;
      defaults.rto_min = Millis(300);
      defaults.rto_max = Millis(60'000);
      defaults.rto_initial = Millis(3'000);
      defaults.tail_loss_probe = true;
      break;
    case TcpStack::darwin:
      // XNU (bsd/netinet/tcp_timer.c, tcp_timer.h, tcp_subr.c): net.inet.tcp.keepidle
      // 7,200,000 ms, keepintvl 75,000 ms, keepcnt 8; TCP_MAXRXTSHIFT 12 retransmissions;
      // SYNs from a 1 s timeout, the first four not doubled (tcp_syn_backoff), until
      // tcp_keepinit (75 s, which SystemDefaults cannot hold yet); the minimum RTO of an
      // established connection is rtt_min 100 ms plus rexmt_slop 200 ms; TCPTV_REXMTMAX 64 s.
      defaults.keepalive_time = Millis(7'200'000);
      defaults.keepalive_interval = Millis(75'000);
      defaults.keepalive_probes = 8;
      defaults.retries2 = 12;
      defaults.syn_retries = 6;
      defaults.syn_linear_timeouts = 4;
      defaults.rto_min = Millis(300);
      defaults.rto_max = Millis(64'000);
      defaults.rto_initial = Millis(1'000);
      defaults.tail_loss_probe = true;
      break;
  }
  return defaults;
}

}  // namespace tcpka
