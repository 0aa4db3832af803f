#include "exec/socket_check.h"

#include <fmt/core.h>

#include <filesystem>
#include <map>

#include "cli/table.h"
#include "net/net_namespace.h"
#include "net/sock_diag.h"

namespace tcpka::tools {
namespace {

// The socket inodes `pid` holds, by descriptor: /proc/PID/fd/N -> "socket:[INODE]".
std::map<std::uint32_t, int> socket_inodes(pid_t pid) {
  std::map<std::uint32_t, int> inodes;
  std::error_code error;
  const std::filesystem::path fds = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& entry : std::filesystem::directory_iterator(fds, error)) {
    const std::string target = std::filesystem::read_symlink(entry.path(), error).string();
    if (error || target.rfind("socket:[", 0) != 0) continue;
    inodes[static_cast<std::uint32_t>(std::stoul(target.substr(8)))] =
        std::stoi(entry.path().filename().string());
  }
  return inodes;
}

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
  const auto inodes = socket_inodes(pid);
  TextTable table({"fd", "local", "remote", "state", "keepalive"});
  SocketCheck check;
  for (const net::TcpSocketEntry& entry : *sockets) {
    const auto held = inodes.find(entry.inode);
    if (held == inodes.end()) continue;
    ++check.sockets;
    const std::string keepalive = keepalive_text(entry);
    if (keepalive == "NOT armed") ++check.uncovered;
    table.add_row({std::to_string(held->second), net::to_string(entry.local),
                   entry.state == TcpConnectionState::listen ? "-" : net::to_string(entry.remote),
                   std::string(to_string(entry.state)), keepalive});
  }
  if (check.sockets > 0) check.table = table.render();
  return check;
}

}  // namespace tcpka::tools
