// Black-box mode: the user's server in the server host, watched through sock_diag.
#include <fmt/core.h>
#include <sys/socket.h>

#include <thread>

#include "lab/scenario_run.h"
#include "net/connect.h"

namespace tcpka::tools::lab::detail {

// --- black-box mode ------------------------------------------------------------------

Result<void> Run::start_target() {
  auto target = TargetProcess::start(topology_->server(), expand_target(spec_.target, kServerPort));
  if (!target) return target.error();
  target_.emplace(std::move(*target));
  // Ready once something listens on the port.
  const Clock::time_point deadline = Clock::now() + kTargetStartup;
  while (Clock::now() < deadline) {
    if (!target_->running()) return errno_error(ECHILD, "the target exited before it listened");
    auto sockets = net::list_tcp_sockets(topology_->server());
    if (!sockets) return sockets.error();
    for (const net::TcpSocketEntry& entry : *sockets) {
      if (entry.state == TcpConnectionState::listen && entry.local.port == kServerPort) return {};
    }
    std::this_thread::sleep_for(kSlice);
  }
  return errno_error(ETIMEDOUT, fmt::format("the target did not listen on port {} within {}",
                                            kServerPort, format_duration(kTargetStartup)));
}

// The target's side of our connection, if it still has one.
Result<std::optional<net::TcpSocketEntry>> Run::target_connection() {
  auto sockets = net::list_tcp_sockets(topology_->server());
  if (!sockets) return sockets.error();
  for (const net::TcpSocketEntry& entry : *sockets) {
    if (entry.local.port != kServerPort || entry.state == TcpConnectionState::listen) continue;
    if (watched_ ? entry.remote == *watched_ : entry.state == TcpConnectionState::established) {
      return std::optional(entry);
    }
  }
  return std::optional<net::TcpSocketEntry>();
}

Result<void> Run::connect_to_target() {
  if (auto started = start_target(); !started) return started;
  const net::SocketAddress server_address =
      Topology::address(Host::server, spec_.family, kServerPort);
  connect_start_ = Moment::now();
  if (spec_.fault == Fault::kill_process || spec_.fault == Fault::stop_process) {
    auto process = PeerProcess::start(topology_->client(), server_address);
    if (!process) return process.error();
    peer_process_.emplace(std::move(*process));
  } else {
    auto client = net::inside(topology_->client(),
                              [&] { return net::connect_tcp(server_address, kSetupTimeout); });
    if (!client) return client.error();
    peer_ = std::move(*client);
    if (auto sent = send_bytes(peer_.get(), 1); !sent) return sent;
  }
  last_segment_ = Moment::now();
  // Let an echo come back and be acknowledged: the target is idle when the fault comes.
  std::this_thread::sleep_for(kTargetSettle);
  if (peer_) {
    char echo[64];
    while (::recv(peer_.get(), echo, sizeof(echo), MSG_DONTWAIT) > 0) {
    }
  }
  auto found = target_connection();
  if (!found) return found.error();
  if (!*found) return errno_error(ENOTCONN, "the target did not accept the connection");
  watched_ = (*found)->remote;
  return {};
}

// Until the target's connection leaves ESTABLISHED and CLOSE_WAIT (the program closed
// it, or its kernel ended it), or the cap.
Result<Measurement> Run::watch_target() {
  const Clock::time_point deadline = reference_.steady + limits_.cap;
  while (!stopped()) {
    drain_capture();
    if (!target_->running()) return errno_error(ECHILD, "the target exited");
    auto found = target_connection();
    if (!found) return found.error();
    const auto after = std::chrono::duration_cast<Millis>(Clock::now() - reference_.steady);
    Measurement m;
    if (*found && (*found)->timer == net::TcpSocketEntry::Timer::keepalive) {
      saw_keepalive_timer_ = true;
    }
    m.note = saw_keepalive_timer_ ? "keepalive armed" : "no keepalive timer seen";
    const bool holding = *found && ((*found)->state == TcpConnectionState::established ||
                                    (*found)->state == TcpConnectionState::close_wait);
    if (!holding) {
      m.kind = Measurement::dropped;
      m.after = after;
      return m;
    }
    if (Clock::now() >= deadline) {
      m.kind = Measurement::still_open;
      return m;
    }
    std::this_thread::sleep_for(kSlice);
  }
  return errno_error(EINTR, "interrupted");
}

// What the detector is doing when the peer fails.

}  // namespace tcpka::tools::lab::detail
