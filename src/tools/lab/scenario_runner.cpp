#include "lab/scenario_runner.h"

#include <fmt/core.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <optional>
#include <thread>

#include "lab/peer_process.h"
#include "lab/target_process.h"
#include "net/connect.h"
#include "net/listener.h"
#include "net/packet_capture.h"
#include "net/peer_window.h"
#include "net/sock_diag.h"
#include "tcpka/close_cause.h"
#include "tcpka/socket_options.h"
#include "tcpka/system_defaults.h"
#include "tcpka/tcp_state.h"

namespace tcpka::tools::lab {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint16_t kServerPort = 7001;
constexpr Millis kSetupTimeout{3'000};
// How long a survival check waits for its byte to cross.
constexpr Millis kCrossingWait{2'000};
// Beyond the model's bound, how long a connection that should survive is watched.
constexpr Millis kSurvivalMargin{1'000};
constexpr Millis kSlice{50};  // the watch loop's poll slice: Ctrl-C is seen this fast
// A window this small fills within milliseconds.
constexpr int kSmallReceiveBuffer = 4096;
// Black-box mode: how long the user's server may take to listen, and to answer the
// first byte (an echo) before the fault.
constexpr Millis kTargetStartup{5'000};
constexpr Millis kTargetSettle{200};

// A moment on both clocks: steady for measuring, the wall clock for the capture.
struct Moment {
  Clock::time_point steady;
  std::int64_t wall_us = 0;

  static Moment now() {
    const auto wall = std::chrono::system_clock::now().time_since_epoch();
    return {Clock::now(), std::chrono::duration_cast<std::chrono::microseconds>(wall).count()};
  }
};

Host peer_of(Host detector) {
  return detector == Host::server ? Host::client : Host::server;
}

Error failure(const std::string& what) {
  const int error = errno;
  return errno_error(error, what + ": " + std::generic_category().message(error));
}

// Waits up to `timeout` for `fd` to be readable.
bool readable_within(int fd, Millis timeout) {
  pollfd ready{fd, POLLIN, 0};
  return ::poll(&ready, 1, static_cast<int>(timeout.count())) == 1;
}

Result<net::UniqueFd> accept_within(int listener, Millis timeout) {
  if (!readable_within(listener, timeout)) return errno_error(ETIMEDOUT, "nobody connected");
  net::UniqueFd fd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (!fd) return failure("accept4");
  return fd;
}

Result<void> read_one_byte(int fd, Millis timeout) {
  if (!readable_within(fd, timeout)) return errno_error(ETIMEDOUT, "no byte from the peer");
  char byte = 0;
  if (::recv(fd, &byte, 1, 0) != 1) return failure("recv");
  return {};
}

Result<void> send_bytes(int fd, std::size_t size) {
  const std::string bytes(size, 'd');
  if (::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(size)) {
    return failure("send");
  }
  return {};
}

// Closes a socket without a FIN or RST, as a host that loses power does (TCP_REPAIR
// needs CAP_NET_ADMIN, which the lab has in its namespaces).
Result<void> vanish(net::UniqueFd& fd) {
  const int on = 1;
  if (::setsockopt(fd.get(), IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) != 0) {
    return failure("TCP_REPAIR");
  }
  fd.reset();
  return {};
}

class Run {
 public:
  Run(const ScenarioSpec& spec, const RunLimits& limits, ScenarioStatus& status)
      : spec_(spec), limits_(limits), status_(status) {}

  ScenarioResult go();

 private:
  bool stopped() const { return limits_.stop != nullptr && limits_.stop->load(); }

  Result<void> build();
  Result<void> set_sysctls();
  Result<void> install_nat();
  Result<void> connect_peers();
  Result<void> start_target();
  Result<void> connect_to_target();
  Result<std::optional<net::TcpSocketEntry>> target_connection();
  Result<Measurement> watch_target();
  Result<void> connect_blackholed(ScenarioResult& result);
  Result<void> prepare_activity();
  Result<Expectation> expect();
  Result<void> break_peer();
  Result<void> heal();
  Result<Measurement> watch(const Expectation& expected);
  Measurement ended(Millis after, std::error_code error, bool end_of_file);
  Result<Measurement> check_survival();
  void drain_capture();
  const Moment& origin_moment(Origin origin) const;
  void count_probes(ScenarioResult& result) const;

  const ScenarioSpec& spec_;
  const RunLimits& limits_;
  ScenarioStatus& status_;

  std::unique_ptr<Topology> topology_;
  std::optional<net::PacketCapture> capture_;
  std::vector<net::CapturedPacket> packets_;
  net::UniqueFd listener_;
  net::UniqueFd detector_;  // the socket with the policy, which must notice
  net::UniqueFd peer_;      // the other end, when the lab holds it
  std::optional<PeerProcess> peer_process_;
  std::optional<TargetProcess> target_;         // black-box mode
  std::optional<net::CompactAddress> watched_;  // the target's peer: our client
  bool saw_keepalive_timer_ = false;
  std::optional<TcpState> before_failure_;  // the detector's connection, just before

  Moment connect_start_;
  Moment last_segment_;
  Moment window_shut_;
  Moment failure_;
  Moment first_send_;
  Moment reference_;  // the model's origin, once known
};

ScenarioResult Run::go() {
  ScenarioResult result;
  result.spec = spec_;
  status_.phase = ScenarioStatus::building;
  Result<void> ran = build();
  if (ran && spec_.fault == Fault::no_listener) {
    ran = connect_blackholed(result);
  } else if (ran) {
    status_.phase = ScenarioStatus::connecting;
    ran = connect_peers();
    if (ran) ran = prepare_activity();
    Result<Expectation> expected = ran ? expect() : Result<Expectation>(ran.error());
    if (expected) {
      result.expected = *expected;
      ran = break_peer();
    } else {
      ran = expected.error();
    }
    if (ran) {
      status_.phase = ScenarioStatus::watching;
      auto measured = watch(result.expected);
      if (measured) {
        result.measured = *measured;
      } else {
        ran = measured.error();
      }
    }
  }
  if (!ran) {
    result.measured.kind = stopped() ? Measurement::interrupted : Measurement::failed_to_run;
    result.measured.note = ran.error().message;
  }
  drain_capture();
  result.packets = trace(packets_);
  result.reference_time_us = reference_.wall_us;
  count_probes(result);
  result.pass = ran.ok() && conforms(result.expected, result.measured);
  return result;
}

// --- the network --------------------------------------------------------------------

Result<void> Run::build() {
  auto topology = Topology::create();
  if (!topology) return topology.error();
  topology_ = std::move(*topology);
  if (auto set = set_sysctls(); !set) return set;
  if (spec_.fault == Fault::nat_forgets) {
    if (auto installed = install_nat(); !installed) return installed;
  }
  auto capture = net::PacketCapture::open(topology_->of(spec_.detector), "eth0");
  if (!capture) return capture.error();
  capture_.emplace(std::move(*capture));
  return {};
}

// Lowered retry counts live in the detector's namespace only.
Result<void> Run::set_sysctls() {
  const net::NetNamespace& ns = topology_->of(spec_.detector);
  if (spec_.tcp_retries2) {
    auto set = net::write_net_sysctl(ns, "ipv4/tcp_retries2", std::to_string(*spec_.tcp_retries2));
    if (!set) return set;
  }
  if (spec_.tcp_syn_retries) {
    return net::write_net_sysctl(ns, "ipv4/tcp_syn_retries",
                                 std::to_string(*spec_.tcp_syn_retries));
  }
  return {};
}

// A middlebox that tracks flows and forgets an established one after nat_timeout of
// silence; a packet of a forgotten flow (anything but a SYN) is dropped, as a NAT that
// no longer has the mapping would.
Result<void> Run::install_nat() {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(spec_.nat_timeout).count();
  return topology_->firewall().run(fmt::format(
      "add ct timeout {0} short {{ protocol tcp; l3proto ip; policy = {{ established: {1} }}; }}\n"
      "add ct timeout {0} short6 {{ protocol tcp; l3proto ip6; policy = {{ established: {1} }}; "
      "}}\n"
      "add chain {0} track {{ type filter hook prerouting priority filter; }}\n"
      "add rule {0} track meta nfproto ipv4 ct state new ct timeout set \"short\"\n"
      "add rule {0} track meta nfproto ipv6 ct state new ct timeout set \"short6\"\n"
      "add rule {0} forward ct state invalid drop\n"
      "add rule {0} forward ct state new tcp flags & (syn | ack) != syn drop\n",
      kRouterTable, seconds));
}

// --- the connection -------------------------------------------------------------------

Result<void> Run::connect_peers() {
  if (!spec_.target.empty()) return connect_to_target();
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
    auto process = PeerProcess::start(topology_->client(), server_address);
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
        if (auto applied = apply_policy(fd, spec_.policy); !applied) return applied;
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
  if (auto applied = apply_policy(detector_.get(), spec_.policy); !applied) return applied;
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
Result<void> Run::prepare_activity() {
  if (!spec_.target.empty()) return {};  // a black box: no socket of ours to look at
  if (spec_.activity == Activity::window_closed) {
    auto shut = net::fill_peer_window(detector_.get(), kSetupTimeout);
    if (!shut) return shut.error();
    const auto wall_now = Moment::now();
    window_shut_ = {
        *shut,
        wall_now.wall_us -
            std::chrono::duration_cast<std::chrono::microseconds>(wall_now.steady - *shut).count()};
  }
  auto state = read_tcp_state(detector_.get());
  if (!state) return state.error();
  before_failure_ = *state;
  return {};
}

Result<Expectation> Run::expect() {
  auto system = net::inside(topology_->of(spec_.detector), [] { return read_system_defaults(); });
  if (!system) return system.error();
  auto resolved = resolve(spec_.policy, *system);
  if (!resolved) return resolved.error();
  PathFacts path;
  if (before_failure_ && before_failure_->rtt) {
    path.rtt = std::chrono::duration_cast<Millis>(*before_failure_->rtt);
  }
  if (before_failure_ && before_failure_->rto) {
    path.rto = std::chrono::duration_cast<Millis>(*before_failure_->rto);
  }
  Expectation e;
  if (!spec_.target.empty()) {
    e.kind = Expectation::observe;
    e.why = "a black box: the lab watches what the program does";
    return e;
  }
  if (spec_.fault == Fault::nat_forgets) {
    const bool probes_in_time = resolved->keepalive && resolved->idle < spec_.nat_timeout;
    e.kind = probes_in_time ? Expectation::survives : Expectation::breaks_silently;
    e.why = probes_in_time
                ? fmt::format("keepalive probes every {} keep the flow alive in the router",
                              format_duration(resolved->idle))
                : fmt::format("the router forgets the idle flow after {}; nothing tells the ends",
                              format_duration(spec_.nat_timeout));
    return e;
  }
  e.detection = predict(spec_.failure, spec_.activity, *resolved, *system, path);
  if (spec_.fault == Fault::partition && e.detection.detected &&
      spec_.outage < e.detection.earliest) {
    e.kind = Expectation::survives;
    e.why = fmt::format("the outage ({}) heals before the connection's bound ({})",
                        format_duration(spec_.outage), format_duration(e.detection.earliest));
    return e;
  }
  e.kind = !e.detection.detected              ? Expectation::never
           : e.detection.latest > limits_.cap ? Expectation::beyond_cap
                                              : Expectation::detected;
  return e;
}

Result<void> Run::break_peer() {
  const Host peer = peer_of(spec_.detector);
  const std::string link = Topology::router_link(peer);
  net::Firewall& firewall = topology_->firewall();
  failure_ = Moment::now();
  Result<void> broken;
  switch (spec_.fault) {
    case Fault::kill_process:
      broken = peer_process_->signal(SIGKILL);
      break;
    case Fault::stop_process:
      broken = peer_process_->signal(SIGSTOP);
      break;
    case Fault::blackhole:
    case Fault::partition:
      broken = firewall.run(fmt::format(
          "add rule {0} fault iifname \"{1}\" drop\nadd rule {0} fault oifname \"{1}\" drop\n",
          kRouterTable, link));
      break;
    case Fault::unreachable:
      broken = firewall.run(fmt::format(
          "add rule {0} fault iifname \"{1}\" drop\n"
          "add rule {0} fault oifname \"{1}\" reject with icmpx type host-unreachable\n",
          kRouterTable, link));
      break;
    case Fault::reboot:
      // The peer's sockets vanish without a word; a rebooted server has no listener.
      broken = vanish(peer_);
      if (broken && peer == Host::server) listener_.reset();
      if (broken) broken = topology_->reboot(peer);
      break;
    case Fault::nat_forgets:
    case Fault::no_listener:
      break;  // the fault is the router's own behaviour
  }
  if (!broken) return broken;
  if (spec_.activity == Activity::sending) {
    first_send_ = Moment::now();
    return send_bytes(detector_.get(), 100);
  }
  return {};
}

Result<void> Run::heal() {
  return topology_->firewall().run(fmt::format("flush chain {} fault\n", kRouterTable));
}

const Moment& Run::origin_moment(Origin origin) const {
  switch (origin) {
    case Origin::last_segment:
      return last_segment_;
    case Origin::first_send:
      return first_send_;
    case Origin::window_shut:
      return window_shut_;
    case Origin::connect:
      return connect_start_;
    case Origin::failure:
      return failure_;
  }
  return failure_;
}

// --- watching ---------------------------------------------------------------------------

Result<Measurement> Run::watch(const Expectation& expected) {
  if (expected.kind == Expectation::observe) {
    reference_ = spec_.fault == Fault::kill_process || spec_.fault == Fault::stop_process
                     ? failure_
                     : last_segment_;
    return watch_target();
  }
  reference_ =
      expected.kind == Expectation::survives || expected.kind == Expectation::breaks_silently
          ? last_segment_
          : origin_moment(expected.detection.origin);
  // Survival is checked once the connection would have died; the NAT case once the
  // router has forgotten the flow.
  std::optional<Clock::time_point> survival_check;
  if (spec_.fault == Fault::nat_forgets) {
    survival_check = last_segment_.steady + spec_.idle_before_send;
  } else if (expected.kind == Expectation::survives) {
    survival_check = reference_.steady + expected.detection.latest + kSurvivalMargin;
  }
  std::optional<Clock::time_point> heal_at;
  if (spec_.fault == Fault::partition) heal_at = failure_.steady + spec_.outage;
  const Clock::time_point deadline = reference_.steady + limits_.cap;

  while (!stopped()) {
    drain_capture();
    const Clock::time_point now = Clock::now();
    if (heal_at && now >= *heal_at) {
      if (auto healed = heal(); !healed) return healed.error();
      heal_at.reset();
    }
    if (survival_check && now >= *survival_check) return check_survival();
    if (now >= deadline) {
      Measurement m;
      m.kind = Measurement::still_open;
      return m;
    }
    pollfd ready{detector_.get(), POLLIN, 0};
    if (::poll(&ready, 1, static_cast<int>(kSlice.count())) != 1) continue;
    char byte = 0;
    const ssize_t n = ::recv(detector_.get(), &byte, 1, MSG_DONTWAIT);
    const int error = errno;
    const auto after = std::chrono::duration_cast<Millis>(Clock::now() - reference_.steady);
    if (n == 0) return ended(after, {}, true);
    if (n < 0 && error != EAGAIN && error != EINTR) return ended(after, errno_code(error), false);
  }
  return errno_error(EINTR, "interrupted");
}

Measurement Run::ended(Millis after, std::error_code error, bool end_of_file) {
  Measurement m;
  m.kind = Measurement::ended;
  m.after = after;
  m.error = error;
  CloseEvidence evidence;
  evidence.end_of_file = end_of_file;
  evidence.error = error;
  const auto armed = read_policy(detector_.get());
  evidence.keepalive_armed = armed && armed->keepalive;
  evidence.user_timeout_armed = armed && armed->user_timeout.count() > 0;
  if (auto state = read_tcp_state(detector_.get())) evidence.last_state = *state;
  m.cause = classify_close(evidence);
  return m;
}

// The detector sends a byte; the connection survived if the peer receives it.
Result<Measurement> Run::check_survival() {
  Measurement m;
  if (!peer_) return errno_error(EINVAL, "a survival check needs the peer's socket");
  if (auto sent = send_bytes(detector_.get(), 1); !sent) {
    return ended(std::chrono::duration_cast<Millis>(Clock::now() - reference_.steady),
                 errno_code(errno), false);
  }
  if (read_one_byte(peer_.get(), kCrossingWait)) {
    m.kind = Measurement::survived;
    m.note = "a byte sent afterwards arrived";
  } else {
    m.kind = Measurement::send_vanished;
    m.note = fmt::format("a byte sent afterwards did not arrive within {}",
                         format_duration(kCrossingWait));
  }
  drain_capture();
  return m;
}

void Run::drain_capture() {
  if (!capture_) return;
  const std::size_t before = packets_.size();
  capture_->take(packets_);
  if (packets_.size() == before) return;
  int probes = 0;
  for (const TracedPacket& t : trace(packets_)) {
    if (t.role == PacketRole::probe) ++probes;
  }
  status_.probes = probes;
}

// Probes and retransmissions from the detector between the reference moment and the end.
void Run::count_probes(ScenarioResult& result) const {
  net::CompactAddress self;
  if (!spec_.target.empty()) {
    self = net::compact(Topology::address(Host::server, spec_.family, kServerPort));
  } else if (auto local = detector_ ? net::local_address(detector_.get())
                                    : Result<net::SocketAddress>(errno_error(EBADF, ""))) {
    self = net::compact(*local);
  } else {
    return;
  }
  for (const TracedPacket& t : result.packets) {
    if (!(t.packet.source == self) || t.packet.time_us < result.reference_time_us) continue;
    if (t.role == PacketRole::probe) ++result.measured.probes;
    if (t.role == PacketRole::retransmission) ++result.measured.retransmissions;
  }
}

}  // namespace

ScenarioResult run_scenario(const ScenarioSpec& spec, const RunLimits& limits,
                            ScenarioStatus& status) {
  return Run(spec, limits, status).go();
}

bool conforms(const Expectation& expected, const Measurement& measured) {
  switch (expected.kind) {
    case Expectation::detected:
      return measured.kind == Measurement::ended && expected.detection.admits(measured.after) &&
             measured.error == expected.detection.error;
    case Expectation::beyond_cap:
    case Expectation::never:
      return measured.kind == Measurement::still_open;
    case Expectation::survives:
      return measured.kind == Measurement::survived;
    case Expectation::breaks_silently:
      return measured.kind == Measurement::send_vanished;
    case Expectation::observe:
      return measured.kind != Measurement::failed_to_run;
  }
  return false;
}

}  // namespace tcpka::tools::lab
