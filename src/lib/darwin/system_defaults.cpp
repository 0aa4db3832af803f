// macOS: the TCP defaults from the net.inet.tcp sysctls.
//
// Untested: no macOS machine builds it (see README's platform table). The names, types
// and units were checked by eye against XNU: keepidle and keepintvl are ints in
// milliseconds (sysctl_msec_to_ticks in bsd/netinet/tcp_timer.c, with TCP_RETRANSHZ at
// 1000 ticks a second), keepcnt a count (same file), rtt_min and rexmt_slop ints in
// milliseconds (bsd/netinet/tcp_subr.c), enable_tlp a flag (bsd/netinet/tcp_output.c),
// sack a flag (bsd/netinet/tcp_sack.c).
//
// The other fields are XNU constants with no sysctl and keep documented_defaults():
// retries2 (TCP_MAXRXTSHIFT), rto_max (TCPTV_REXMTMAX), rto_initial (TCPTV_RTOBASE), and
// the SYN's rules. net.inet.tcp.keepinit (how long connect() may take) has no field to
// go into.
#include "tcpka/system_defaults.h"

#include <sys/sysctl.h>
#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <string>

namespace tcpka {
namespace {

// One int sysctl. `missing` when the running system does not have it.
struct SysctlValue {
  int value = 0;
  bool missing = false;
};

Result<SysctlValue> read_sysctl(const char* name) {
  int value = 0;
  std::size_t length = sizeof(value);
  if (::sysctlbyname(name, &value, &length, nullptr, 0) != 0) {
    const int error = errno;
    if (error == ENOENT) return SysctlValue{0, true};
    return errno_error(error, std::string("sysctlbyname(") + name +
                                  "): " + std::generic_category().message(error));
  }
  if (length != sizeof(value)) {
    return errno_error(EINVAL, std::string(name) + " is not an int: the kernel gave " +
                                   std::to_string(length) + " bytes");
  }
  return SysctlValue{value, false};
}

// The sysctls' values, before they become SystemDefaults' fields.
struct Values {
  int keepidle_ms = 0;
  int keepintvl_ms = 0;
  int keepcnt = 0;
  int rexmt_slop_ms = 200;  // TCPTV_REXMTSLOP (tcp_timer.h)
  int rtt_min_ms = 100;     // tcp_TCPTV_MIN's initial value (tcp_subr.c)
  int enable_tlp = 1;
  int sack = 1;
};

struct Sysctl {
  const char* name;
  int Values::*value;
};

constexpr Sysctl kSysctls[] = {
    {"net.inet.tcp.keepidle", &Values::keepidle_ms},
    {"net.inet.tcp.keepintvl", &Values::keepintvl_ms},
    {"net.inet.tcp.keepcnt", &Values::keepcnt},
    {"net.inet.tcp.rexmt_slop", &Values::rexmt_slop_ms},
    {"net.inet.tcp.rtt_min", &Values::rtt_min_ms},
    {"net.inet.tcp.enable_tlp", &Values::enable_tlp},
    {"net.inet.tcp.sack", &Values::sack},
};

}  // namespace

Result<SystemDefaults> read_system_defaults() {
  SystemDefaults defaults = documented_defaults(TcpStack::darwin);
  // A sysctl the system lacks keeps the documented value, or XNU's initial one.
  Values values;
  values.keepidle_ms = static_cast<int>(defaults.keepalive_time.count());
  values.keepintvl_ms = static_cast<int>(defaults.keepalive_interval.count());
  values.keepcnt = defaults.keepalive_probes;
  for (const Sysctl& sysctl : kSysctls) {
    auto value = read_sysctl(sysctl.name);
    if (!value) return value.error();
    if (value->missing) {
      defaults.not_present.emplace_back(sysctl.name);
      continue;
    }
    values.*sysctl.value = value->value;
  }

  defaults.keepalive_time = Millis(values.keepidle_ms);
  defaults.keepalive_interval = Millis(values.keepintvl_ms);
  defaults.keepalive_probes = values.keepcnt;
  // The smallest RTO of an established connection to a peer on a local network
  // (loopback included): XNU adds rexmt_slop to every RTO from ESTABLISHED on
  // (TCPT_RANGESET with TCP_ADD_REXMTSLOP, tcp_timer.h) and floors the RTT part at
  // rtt_min for such a peer (tcp_mss(), tcp_input.c). A remote peer's RTT part is
  // floored at TCPTV_REXMTMIN (30 ms) instead, a constant, so its RTO can be smaller.
  defaults.rto_min = Millis(values.rexmt_slop_ms + values.rtt_min_ms);
  // XNU sends a tail-loss probe only on a connection with SACK (TCPT_PTO in tcp_timer.c).
  defaults.tail_loss_probe = values.enable_tlp != 0 && values.sack != 0;
  return defaults;
}

}  // namespace tcpka
