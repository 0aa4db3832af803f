#include "exec/socket_check.h"

#include <fmt/core.h>

#include "cli/table.h"
#include "host/process_table.h"
#include "net/net_namespace.h"
#include "net/sock_diag.h"

namespace tcpka::tools {
namespace {

std::string keepalive_text(const net::TcpSocketEntry& entry) {
  using Timer = net::TcpSocketEntry::Timer;
  if (entry.state == TcpConnectionState::listen) return "(its accepted connections inherit)";
  if (entry.state != TcpConnectionState::established) return "-";
  switch (entry.timer) {
    case Timer::keepalive:
      return fmt::format("armed, next probe in {}", format_seconds(Millis(entry.timer_expires_ms)));
    case Timer::retransmit:
    case Timer::zero_window_probe:
      return "(retransmitting: cannot tell)";
    default:
      return "NOT armed";
  }
}

}  // namespace

Result<SocketCheck> check_sockets(pid_t pid) {
  auto ns = net::NetNamespace::current();
  if (!ns) return ns.error();
  auto sockets = net::list_tcp_sockets(*ns);
  if (!sockets) return sockets.error();
  const host::ProcessTable owner = host::read_process_table(pid);
  TextTable table({"fd", "local", "remote", "state", "keepalive"});
  SocketCheck check;
  for (const net::TcpSocketEntry& entry : *sockets) {
    const auto held = owner.holders.find(entry.inode);
    if (entry.inode == 0 || held == owner.holders.end()) continue;
    ++check.sockets;
    const std::string keepalive = keepalive_text(entry);
    if (keepalive == "NOT armed") ++check.uncovered;
    table.add_row({std::to_string(held->second.front().fd), net::to_string(entry.local),
                   entry.state == TcpConnectionState::listen ? "-" : net::to_string(entry.remote),
                   std::string(to_string(entry.state)), keepalive});
  }
  if (check.sockets > 0) check.table = table.render();
  return check;
}

}  // namespace tcpka::tools
