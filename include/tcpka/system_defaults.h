// The host's TCP defaults: what a socket gets for every field a policy leaves empty, and
// the retransmission limits that bound a connection with data in flight.
#pragma once

#include <string>
#include <vector>

#include "tcpka/duration.h"
#include "tcpka/result.h"

namespace tcpka {

// Whose TCP implementation the defaults describe; the detection model follows its rules.
enum class TcpStack {
  linux_kernel,
  windows,  // keepalive counts probes, never time; TCP_MAXRT bounds retransmissions only
  darwin,   // XNU: keepalive ends at idle + cnt * intvl from the last segment received,
            // even with data in flight; TCP_RXT_CONNDROPTIME bounds retransmissions
};

// Default-constructed, it holds a stock Linux kernel's values.
struct SystemDefaults {
  TcpStack stack = TcpStack::linux_kernel;
  Millis keepalive_time{7'200'000};   // net.ipv4.tcp_keepalive_time (idle)
  Millis keepalive_interval{75'000};  // net.ipv4.tcp_keepalive_intvl
  int keepalive_probes = 9;           // net.ipv4.tcp_keepalive_probes
  int retries2 = 15;                  // net.ipv4.tcp_retries2: bound for unacked data
  int syn_retries = 6;                // net.ipv4.tcp_syn_retries: bound for connect()
  int syn_linear_timeouts = 0;        // net.ipv4.tcp_syn_linear_timeouts (Linux 6.5+)
  Millis rto_min{200};                // net.ipv4.tcp_rto_min_us (Linux 6.11+), TCP_RTO_MIN
  Millis rto_max{120'000};            // net.ipv4.tcp_rto_max_ms (Linux 6.15+), TCP_RTO_MAX
  Millis rto_initial{1'000};          // TCP_TIMEOUT_INIT, the SYN's first timeout (constant)
  // net.ipv4.tcp_early_retrans 3 or 4, with net.ipv4.tcp_sack: unacknowledged data gets a
  // tail-loss probe before its first timeout, which delays that timeout (and the
  // retries2 and user-timeout clocks that start with it) by up to one RTO.
  bool tail_loss_probe = true;

  // Sysctls (registry values on Windows) this system does not have; their fields hold the
  // built-in or documented default.
  std::vector<std::string> not_present;

  bool operator==(const SystemDefaults&) const = default;
};

// Reads the host's defaults: on Linux those of the calling thread's network namespace
// (/proc/sys/net/ipv4, which the kernel resolves per thread); on Windows the registry's
// Tcpip\Parameters; on macOS the net.inet.tcp sysctls.
Result<SystemDefaults> read_system_defaults();

// The stock defaults of a platform's TCP, as its documentation gives them: what
// read_system_defaults() reports where nothing overrides them.
SystemDefaults documented_defaults(TcpStack stack);

}  // namespace tcpka
