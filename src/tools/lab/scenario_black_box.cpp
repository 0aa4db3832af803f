// Black-box mode: the user's server in the server host, watched through sock_diag.
#include <fmt/core.h>
#include <sys/socket.h>

#include <string_view>
#include <thread>

#include "host/tcp_survey.h"
#include "lab/scenario_run.h"
#include "net/connect.h"

namespace tcpka::tools::lab::detail {
namespace {

// How often the lab looks again while it waits for the target to listen or to answer.
constexpr Millis kTargetPoll{10};
// How long a close line of tcpka serve's may take to reach its output.
constexpr Millis kServeLogWait{2'000};

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

// When the target's connection fell quiet after the client's first bytes (if any): once
// nothing has crossed the server's link for kSettled, after the target's reply when the
// client sent something (or kEchoWait without one: a server that does not answer). The
// model's idle clock starts at the last segment the target received from the client; a
// target slow to answer (under load) is not caught with its answer in flight.
Moment Run::target_quiet_moment() {
  const net::CompactAddress server =
      net::compact(Topology::address(Host::server, spec_.family, kServerPort));
  const Clock::time_point deadline = Clock::now() + kEchoWait;
  const auto to_target = [&](const net::CapturedPacket& p) {
    return p.kind == net::CapturedPacket::kTcp && p.destination == server;
  };
  while (!stopped()) {
    drain_capture();
    const net::CapturedPacket* last_to_target = nullptr;
    const net::CapturedPacket* last = nullptr;
    bool answered = spec_.target_send.empty();
    for (const net::CapturedPacket& p : packets_) {
      if (p.time_us < connect_start_.wall_us || p.kind != net::CapturedPacket::kTcp) continue;
      last = &p;
      if (to_target(p)) last_to_target = &p;
      if (is_data(p) && p.source == server) answered = true;
    }
    const Moment now = Moment::now();
    const bool settled = last != nullptr &&
                         now.wall_us - last->time_us >= std::chrono::microseconds(kSettled).count();
    if ((settled && answered) || Clock::now() >= deadline) {
      return last_to_target != nullptr ? connect_start_.at(last_to_target->time_us) : now;
    }
    std::this_thread::sleep_for(kTargetPoll);
  }
  return Moment::now();
}

// What the target's side of our connection holds, read as `tcpka inspect` reads it (a
// BPF iterator, else a duplicate of the target's descriptor), for the prediction.
void Run::read_target_settings() {
  const std::uint64_t server_ns = topology_->server().inode();
  host::SurveyOptions options;
  options.keep_namespace = [&](const host::SurveyedNamespace& ns) { return ns.inode == server_ns; };
  options.keep_socket = [&](const host::SurveyedSocket& socket, const host::ProcessTable&) {
    return socket.entry.local.port == kServerPort && watched_ && socket.entry.remote == *watched_;
  };
  auto survey = host::survey_tcp_sockets(options);
  if (!survey) {
    target_settings_source_ = "unread: " + survey.error().message;
    return;
  }
  for (const host::SurveyedSocket& socket : survey->sockets) {
    if (socket.settings) {
      target_settings_ = socket.settings->policy;
      target_settings_source_ = std::string(host::to_string(socket.source));
      return;
    }
    target_settings_source_ = "unread: " + socket.unread;
  }
  if (target_settings_source_.empty()) {
    target_settings_source_ = "unread: the target's socket was not found";
  }
}

Result<void> Run::connect_to_target() {
  if (spec_.activity == Activity::sending && spec_.target_send.empty()) {
    return errno_error(EINVAL,
                       "needs --target-send: a request the server answers, so that its answer "
                       "is in flight when the client's host vanishes");
  }
  if (auto started = start_target(); !started) return started;
  const net::SocketAddress server_address =
      Topology::address(Host::server, spec_.family, kServerPort);
  connect_start_ = Moment::now();
  if (spec_.fault == Fault::kill_process || spec_.fault == Fault::stop_process) {
    auto process = PeerProcess::start(topology_->client(), server_address, spec_.target_send,
                                      spec_.heartbeat.has_value(), spec_.pong_delay);
    if (!process) return process.error();
    peer_process_.emplace(std::move(*process));
  } else {
    auto client = net::inside(topology_->client(),
                              [&] { return net::connect_tcp(server_address, kSetupTimeout); });
    if (!client) return client.error();
    peer_ = std::move(*client);
    if (auto sent = send_text(peer_.get(), spec_.target_send); !sent) return sent;
  }
  // The target is idle when the fault comes: its answer, if any, came and was
  // acknowledged.
  last_segment_ = target_quiet_moment();
  if (peer_) {
    char answer[4096];
    while (::recv(peer_.get(), answer, sizeof(answer), MSG_DONTWAIT) > 0) {
    }
  }
  auto found = target_connection();
  if (!found) return found.error();
  if (!*found) {
    return errno_error(
        ENOTCONN, target_->exit_status()      ? "the target exited after it accepted the connection"
                  : spec_.target_send.empty() ? "the target closed the connection at once"
                                              : "the target closed the connection after the client "
                                                "sent its --target-send bytes");
  }
  watched_ = (*found)->remote;
  read_target_settings();
  return {};
}

// Black-box mode, data in flight: the client's request (--target-send, again) crosses the
// router just before its host vanishes, so that the server's answer never arrives: the
// server has unacknowledged data, as a server sending to a host that crashed has. The
// data is in flight from the answer's first send, seen in the capture; a target that does
// not answer within kEchoWait is left with the request's time.
Result<void> Run::crash_with_echo_in_flight() {
  const std::string link = Topology::router_link(Host::client);
  net::Firewall& firewall = topology_->firewall();
  auto cut_return_path =
      firewall.run(fmt::format("add rule {} fault oifname \"{}\" drop\n", kRouterTable, link));
  if (!cut_return_path) return cut_return_path;
  const Moment request = Moment::now();
  failure_ = first_send_ = request;
  if (auto sent = send_text(peer_.get(), spec_.target_send); !sent) return sent;
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

// The capture time of the first FIN or RST the target sent our client since the
// reference moment.
std::optional<std::int64_t> Run::target_end_on_the_wire() const {
  const net::CompactAddress server =
      net::compact(Topology::address(Host::server, spec_.family, kServerPort));
  const net::CapturedPacket* end =
      first_captured(packets_, reference_.wall_us, [&](const net::CapturedPacket& p) {
        return p.kind == net::CapturedPacket::kTcp && p.source == server && watched_ &&
               p.destination == *watched_ && (p.flags & (net::kFin | net::kRst)) != 0;
      });
  if (end == nullptr) return std::nullopt;
  return end->time_us;
}

// Heartbeat scenarios: the cause tcpka serve logged for its close (its --log json line),
// as the target's output kept it. serve writes its log after the close, from another
// thread: the line may come a moment after the connection is gone.
std::optional<CloseCause> Run::serve_close_cause() const {
  const Clock::time_point deadline = Clock::now() + kServeLogWait;
  while (true) {
    const std::vector<std::string> lines = target_->last_lines(kTargetOutputLines);
    // Found by its key, not parsed: last_lines cuts long lines, and the cause comes early.
    constexpr std::string_view kCause = "\"cause\":\"";
    for (auto line = lines.rbegin(); line != lines.rend(); ++line) {
      if (line->find("\"close\"") == std::string::npos) continue;
      const std::size_t at = line->find(kCause);
      const std::size_t end = at == std::string::npos ? at : line->find('"', at + kCause.size());
      if (end != std::string::npos) {
        return close_cause_from_string(
            std::string_view(*line).substr(at + kCause.size(), end - at - kCause.size()));
      }
    }
    if (Clock::now() >= deadline || stopped()) return std::nullopt;
    std::this_thread::sleep_for(kTargetPoll);
  }
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
      // To the millisecond when the target's end left a mark on the wire: its FIN when the
      // program closed, the kernel's RST when keepalive gave up.
      drain_capture();
      if (const auto ended = target_end_on_the_wire()) {
        m.after =
            std::chrono::duration_cast<Millis>(reference_.at(*ended).steady - reference_.steady);
      }
      if (spec_.heartbeat) {
        const std::optional<CloseCause> cause = serve_close_cause();
        m.cause = cause.value_or(CloseCause::unknown);
        m.note = cause ? "serve logged " + std::string(to_string(*cause)) : "serve logged no close";
      }
      return m;
    }
    if (Clock::now() >= deadline) {
      m.kind = Measurement::still_open;
      return m;
    }
    std::this_thread::sleep_for(kTargetPoll);
  }
  return errno_error(EINTR, "interrupted");
}

}  // namespace tcpka::tools::lab::detail
