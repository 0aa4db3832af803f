// Connecting the two hosts, and the connect() scenario.
#include <fmt/core.h>
#include <poll.h>
#include <sys/socket.h>

#include "lab/scenario_run.h"
#include "net/connect.h"
#include "net/listener.h"
#include "tcpka/close_cause.h"
#include "tcpka/socket_options.h"
#include "tcpka/system_defaults.h"

namespace tcpka::tools::lab::detail {

// --- the connection -------------------------------------------------------------------

Result<void> Run::connect_peers() {
  if (!spec_.target.empty()) return connect_to_target();
  if (!spec_.windows_client.empty()) return connect_windows_client();
  const net::SocketAddress server_address =
      Topology::address(Host::server, spec_.family, kServerPort);
  const bool server_detects = spec_.detector == Host::server;
  const bool shut_window = spec_.activity == Activity::window_closed;
  net::ListenOptions options;
  if (server_detects) options.policy = spec_.policy;
  auto listener = net::inside(topology_->server(), [&]() -> Result<net::UniqueFd> {
    auto fd = net::listen_tcp(server_address, options);
    // The server's window is the one to shut when the client is the detector: a small
    // receive buffer before listen() is what accepted sockets advertise.
    if (fd && shut_window && !server_detects &&
        ::setsockopt(fd->get(), SOL_SOCKET, SO_RCVBUF, &kSmallReceiveBuffer,
                     sizeof(kSmallReceiveBuffer)) != 0) {
      return failure("SO_RCVBUF");
    }
    return fd;
  });
  if (!listener) return listener.error();
  listener_ = std::move(*listener);

  connect_start_ = Moment::now();
  if (spec_.fault == Fault::kill_process || spec_.fault == Fault::stop_process) {
    auto process = PeerProcess::start(topology_->client(), server_address, "p");
    if (!process) return process.error();
    peer_process_.emplace(std::move(*process));
    auto accepted = accept_within(listener_.get(), kSetupTimeout);
    if (!accepted) return accepted.error();
    detector_ = std::move(*accepted);
    // The peer's one byte is the last segment before it fails.
    if (auto read = read_one_byte(detector_.get(), kSetupTimeout); !read) return read;
    last_segment_ = Moment::now();
    return {};
  }

  auto client = net::inside(topology_->client(), [&] {
    return net::connect_tcp(server_address, kSetupTimeout, [&](int fd) -> Result<void> {
      if (!server_detects) {
        if (auto applied = apply_policy(fd, spec_.policy); !applied) return applied.error();
      }
      if (shut_window && server_detects &&
          ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSmallReceiveBuffer,
                       sizeof(kSmallReceiveBuffer)) != 0) {
        return failure("SO_RCVBUF");
      }
      return {};
    });
  });
  if (!client) return client.error();
  auto accepted = accept_within(listener_.get(), kSetupTimeout);
  if (!accepted) return accepted.error();
  detector_ = server_detects ? std::move(*accepted) : std::move(*client);
  peer_ = server_detects ? std::move(*client) : std::move(*accepted);
  // One byte from the peer, read by the detector: the last segment it receives.
  if (auto sent = send_bytes(peer_.get(), 1); !sent) return sent;
  if (auto read = read_one_byte(detector_.get(), kSetupTimeout); !read) return read;
  last_segment_ = Moment::now();
  return {};
}

// connect() to a host the router silences: the SYN retries, or the user timeout.
Result<void> Run::connect_blackholed(ScenarioResult& result) {
  const std::string link = Topology::router_link(Host::server);
  if (auto cut = topology_->firewall().run(fmt::format(
          "add rule {0} fault oifname \"{1}\" drop\nadd rule {0} fault iifname \"{1}\" drop\n",
          kRouterTable, link));
      !cut) {
    return cut;
  }
  const net::NetNamespace& ns = topology_->client();
  auto system = net::inside(ns, [] { return read_system_defaults(); });
  if (!system) return system.error();
  auto resolved = resolve(spec_.policy, *system);
  if (!resolved) return resolved.error();
  const Detection d = predict(spec_.failure, Activity::connecting, *resolved, *system);
  result.expected.kind =
      d.detected ? (d.latest <= limits_.cap ? Expectation::detected : Expectation::beyond_cap)
                 : Expectation::never;
  result.expected.detection = d;

  status_.phase = ScenarioStatus::watching;
  auto socket = net::inside(ns, [&]() -> Result<net::UniqueFd> {
    net::UniqueFd fd(::socket(spec_.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return failure("socket");
    return fd;
  });
  if (!socket) return socket.error();
  detector_ = std::move(*socket);
  if (auto applied = apply_policy(detector_.get(), spec_.policy); !applied) return applied.error();
  const net::SocketAddress address = Topology::address(Host::server, spec_.family, kServerPort);
  connect_start_ = reference_ = Moment::now();
  if (::connect(detector_.get(), address.get(), address.length) == 0 || errno != EINPROGRESS) {
    return failure("connect() to a silenced host did not wait");
  }
  while (!stopped()) {
    drain_capture();
    const auto waited = Clock::now() - reference_.steady;
    if (waited > limits_.cap) {
      result.measured.kind = Measurement::still_open;
      return {};
    }
    pollfd ready{detector_.get(), POLLOUT, 0};
    if (::poll(&ready, 1, static_cast<int>(kSlice.count())) != 1) continue;
    int error = 0;
    socklen_t length = sizeof(error);
    ::getsockopt(detector_.get(), SOL_SOCKET, SO_ERROR, &error, &length);
    const auto after = std::chrono::duration_cast<Millis>(Clock::now() - reference_.steady);
    CloseEvidence evidence;
    evidence.connecting = true;
    evidence.error = errno_code(error);
    result.measured.kind = Measurement::ended;
    result.measured.after = after;
    result.measured.error = evidence.error;
    result.measured.cause = error == 0 ? CloseCause::unknown : classify_close(evidence);
    return {};
  }
  return errno_error(EINTR, "interrupted");
}

}  // namespace tcpka::tools::lab::detail
