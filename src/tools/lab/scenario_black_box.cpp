// Black-box mode: the user's server in the server host, watched through sock_diag.
#include <fmt/core.h>
#include <sys/socket.h>

#include <thread>

#include "lab/scenario_run.h"
#include "net/connect.h"

namespace tcpka::tools::lab::detail {
namespace {

// How often the lab looks again while it waits for the target to listen or to answer.
constexpr Millis kTargetPoll{10};

bool is_data(const net::CapturedPacket& packet) {
  return packet.kind == net::CapturedPacket::kTcp && packet.payload > 0;
}

// The first packet captured at or after `since` (microseconds) that `matches`.
template <typename Matches>
const net::CapturedPacket* first_captured(const std::vector<net::CapturedPacket>& packets,
                                          std::int64_t since, Matches matches) {
  for (const net::CapturedPacket& packet : packets) {
    if (packet.time_us >= since && matches(packet)) return &packet;
  }
  return nullptr;
}

}  // namespace

Result<void> Run::start_target() {
  const std::string command = expand_target(spec_.target, kServerPort);
  auto target = TargetProcess::start(topology_->server(), command);
  if (!target) return target.error();
  target_.emplace(std::move(*target));
  // Ready once something listens on the port: a JVM or a Python behind a version
  // manager's shim may take seconds, the more so beside the other scenarios' targets.
  const Clock::time_point deadline = Clock::now() + limits_.target_startup;
  while (!stopped()) {
    if (const std::optional<int> status = target_->exit_status()) {
      return errno_error(ECHILD, fmt::format("the target exited with status {} before it listened "
                                             "on port {}: {}",
                                             *status, kServerPort, command));
    }
    auto sockets = net::list_tcp_sockets(topology_->server());
    if (!sockets) return sockets.error();
    for (const net::TcpSocketEntry& entry : *sockets) {
      if (entry.state == TcpConnectionState::listen && entry.local.port == kServerPort) return {};
    }
    if (Clock::now() >= deadline) {
      return errno_error(
          ETIMEDOUT,
          fmt::format("waited {} (--target-startup) for the target to listen on port {} of the "
                      "server host, and it still does not: {}",
                      format_duration(limits_.target_startup), kServerPort, command));
    }
    std::this_thread::sleep_for(kTargetPoll);
  }
  return errno_error(EINTR, "interrupted");
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

// When the target's connection fell quiet after the client's first byte, from the capture
// on the server's link: the client's acknowledgement of the target's echo, or, without an
// echo within kEchoWait (a server that does not echo), the byte itself. Keepalive's idle
// clock starts there, and a target slow to echo (under load) is not caught with its echo
// in flight when the fault comes.
Moment Run::target_quiet_moment() {
  const net::CompactAddress server =
      net::compact(Topology::address(Host::server, spec_.family, kServerPort));
  const Clock::time_point deadline = Clock::now() + kEchoWait;
  while (!stopped()) {
    drain_capture();
    const net::CapturedPacket* request = first_captured(
        packets_, connect_start_.wall_us,
        [&](const net::CapturedPacket& p) { return is_data(p) && p.destination == server; });
    const net::CapturedPacket* echo =
        request == nullptr
            ? nullptr
            : first_captured(packets_, request->time_us, [&](const net::CapturedPacket& p) {
                return is_data(p) && p.source == server && p.destination == request->source;
              });
    const net::CapturedPacket* acknowledged =
        echo == nullptr
            ? nullptr
            : first_captured(packets_, echo->time_us, [&](const net::CapturedPacket& p) {
                const std::uint32_t echo_end = echo->seq + echo->payload;
                return p.kind == net::CapturedPacket::kTcp && p.source == request->source &&
                       (p.flags & net::kAck) != 0 &&
                       static_cast<std::int32_t>(p.ack - echo_end) >= 0;
              });
    if (acknowledged != nullptr) return connect_start_.at(acknowledged->time_us);
    if (Clock::now() >= deadline) {
      return request != nullptr ? connect_start_.at(request->time_us) : Moment::now();
    }
    std::this_thread::sleep_for(kTargetPoll);
  }
  return Moment::now();
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
  // The target is idle when the fault comes: its echo, if any, came and was acknowledged.
  last_segment_ = target_quiet_moment();
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

// Black-box mode, data in flight: the client's last request crosses the router just
// before its host vanishes, so that the server's echo of it never arrives: the server
// has unacknowledged data, as a server sending to a host that crashed has. The data is
// in flight from the echo's first send, seen in the capture; a target that does not echo
// within kEchoWait is left with the request's time.
Result<void> Run::crash_with_echo_in_flight() {
  const std::string link = Topology::router_link(Host::client);
  net::Firewall& firewall = topology_->firewall();
  auto cut_return_path =
      firewall.run(fmt::format("add rule {} fault oifname \"{}\" drop\n", kRouterTable, link));
  if (!cut_return_path) return cut_return_path;
  const Moment request = Moment::now();
  failure_ = first_send_ = request;
  if (auto sent = send_bytes(peer_.get(), 100); !sent) return sent;
  const net::CompactAddress server =
      net::compact(Topology::address(Host::server, spec_.family, kServerPort));
  const Clock::time_point deadline = Clock::now() + kEchoWait;
  while (!stopped() && Clock::now() < deadline) {
    drain_capture();
    const net::CapturedPacket* echo = first_captured(
        packets_, request.wall_us,
        [&](const net::CapturedPacket& p) { return is_data(p) && p.source == server; });
    if (echo != nullptr) {
      failure_ = first_send_ = request.at(echo->time_us);
      break;
    }
    std::this_thread::sleep_for(kTargetPoll);
  }
  return firewall.run(fmt::format("add rule {} fault iifname \"{}\" drop\n", kRouterTable, link));
}

// Until the target's connection leaves ESTABLISHED and CLOSE_WAIT (the program closed
// it, or its kernel ended it), or the cap.
Result<Measurement> Run::watch_target() {
  const Clock::time_point deadline = reference_.steady + limits_.cap;
  while (!stopped()) {
    drain_capture();
    if (target_->exit_status()) return errno_error(ECHILD, "the target exited");
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

}  // namespace tcpka::tools::lab::detail
