// Breaking the peer, and watching the detector until it notices or the cap.
#include <fmt/core.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>

#include <thread>

#include "lab/scenario_run.h"
#include "net/listener.h"
#include "tcpka/close_cause.h"
#include "tcpka/socket_options.h"

namespace tcpka::tools::lab::detail {

Result<void> Run::break_peer() {
  if (!spec_.target.empty() && spec_.activity == Activity::sending) {
    return crash_with_echo_in_flight();
  }
  const Host peer = peer_of(spec_.detector);
  const std::string link = topology_->link_to(peer);
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
      // The peer's sockets vanish without a word; a rebooted server has no listener. From
      // this moment its host answers the connection's segments with RST, and so does the
      // new host that replaces it (make before break: the address is never without one),
      // however long the replacement takes on a loaded machine. It is made while the
      // detector is watched (go() waits for it afterwards).
      broken = vanish(peer_);
      if (broken && peer == Host::server) listener_.reset();
      if (broken) topology_->start_reboot(peer);
      break;
    case Fault::nat_forgets:  // the fault is the router's own behaviour
    case Fault::no_listener:
    case Fault::lossy_path:  // population_scenarios.cpp's, never a Run's
    case Fault::mass_crash:
      break;
  }
  if (!broken) return broken;
  // A fault in the router is in force once its rule is: the firewall may have waited its
  // turn for libnftables, which the lab's scenarios take one at a time.
  if (spec_.fault == Fault::blackhole || spec_.fault == Fault::partition ||
      spec_.fault == Fault::unreachable) {
    failure_ = Moment::now();
  }
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
    case Origin::last_message:
      return last_message_;
    case Origin::failure:
      return failure_;
  }
  return failure_;
}

// --- watching ---------------------------------------------------------------------------

namespace {

// The lab is a measuring instrument: on a loaded machine the kernel's timers still fire
// on time, but a thread that reads the result waits its turn for a CPU, tens of
// milliseconds under ctest -j16 on two cores, which is the scheduler's delay and not the
// kernel's. So while it watches the detector, and only then, the scenario's thread runs
// in the real-time class (as cyclictest does); it spends that time asleep in poll().
// Building a topology, parsing nftables rules and starting peers stay in the normal
// class: a real-time thread doing that work holds a CPU for as long as it needs, and
// with a few scenarios at once nothing else on a two-core machine ran (a test of
// another process waited 0.5 s for its wakeup). Processes started meanwhile fall back
// to the normal class (SCHED_RESET_ON_FORK). Where that is refused (no CAP_SYS_NICE) it
// runs as before.
//
// Not in a sanitizer's build: their runtimes take spin locks that yield with
// sched_yield(), which never lets a normal-class holder run while a real-time thread
// spins; under ThreadSanitizer that stalled whole runs until the kernel throttled the
// real-time class ("sched: RT throttling activated").
class RealTimeWhileWatching {
 public:
  RealTimeWhileWatching() {
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    sched_param priority{};
    priority.sched_priority = 1;
    raised_ = ::sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &priority) == 0;
#endif
  }
  ~RealTimeWhileWatching() {
    if (!raised_) return;
    const sched_param normal{};
    ::sched_setscheduler(0, SCHED_OTHER, &normal);
  }
  RealTimeWhileWatching(const RealTimeWhileWatching&) = delete;
  RealTimeWhileWatching& operator=(const RealTimeWhileWatching&) = delete;

 private:
  bool raised_ = false;
};

}  // namespace

Result<Measurement> Run::watch(const Expectation& expected) {
  const RealTimeWhileWatching on_time;
  if (!spec_.windows_client.empty()) {
    reference_ = origin_moment(expected.detection.origin);
    return watch_windows_client();
  }
  if (!spec_.target.empty() && expected.kind != Expectation::observe) {
    // The last segment the target received before the fault, from the capture: a probe
    // answered while the lab read the target's settings (slow on a loaded machine) moves
    // keepalive's idle clock past the quiet moment.
    drain_capture();
    const net::CompactAddress server =
        net::compact(Topology::address(Host::server, spec_.family, kServerPort));
    for (const net::CapturedPacket& p : packets_) {
      if (p.kind == net::CapturedPacket::kTcp && p.destination == server &&
          p.time_us >= last_segment_.wall_us && p.time_us < failure_.wall_us) {
        last_segment_ = last_segment_.at(p.time_us);
      }
    }
    if (spec_.heartbeat) last_message_ = last_message_moment();
    if (expected.kind == Expectation::survives && spec_.pause > Millis(0)) {
      return watch_pause(expected);
    }
    reference_ = origin_moment(expected.detection.origin);
    return watch_target();
  }
  if (expected.kind == Expectation::observe) {
    reference_ = spec_.activity == Activity::sending ? first_send_
                 : spec_.fault == Fault::kill_process || spec_.fault == Fault::stop_process
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
  // The outage is timed on keepalive's clock, which runs from the last segment (expect()
  // compares it with the last probe), not from when the router's rule took effect.
  // Without a partition, or once healed, it is never (not an optional: GCC 12 at -Os
  // warns that one may be read uninitialized, bug 80635).
  constexpr Clock::time_point kNever = Clock::time_point::max();
  Clock::time_point heal_at = kNever;
  if (spec_.fault == Fault::partition) heal_at = last_segment_.steady + outage_;
  const Clock::time_point deadline = reference_.steady + limits_.cap;

  while (!stopped()) {
    drain_capture();
    const Clock::time_point now = Clock::now();
    if (now >= heal_at) {
      if (auto healed = heal(); !healed) return healed.error();
      heal_at = kNever;
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
    const Clock::time_point when = Clock::now();
    if (n == 0 && spec_.fault == Fault::kill_process) reference_ = failure_ = peer_closed_moment();
    if (expected.detection.origin == Origin::last_segment &&
        reference_.wall_us == last_segment_.wall_us) {
      reference_ = peer_last_segment_moment();
    }
    const auto after = std::chrono::duration_cast<Millis>(when - reference_.steady);
    if (n == 0) return ended(after, {}, true);
    if (n < 0 && error != EAGAIN && error != EINTR) return ended(after, errno_code(error), false);
  }
  return errno_error(EINTR, "interrupted");
}

// The last bytes (a pong) the peer's application sent the target before it failed: the
// heartbeat's clock runs from them. The peer's kernel's bare acknowledgements (of the
// pings it no longer answers) are not its application speaking.
Moment Run::last_message_moment() {
  drain_capture();
  const net::CompactAddress server =
      net::compact(Topology::address(Host::server, spec_.family, kServerPort));
  Moment last = last_segment_;
  for (const net::CapturedPacket& p : packets_) {
    if (p.kind == net::CapturedPacket::kTcp && p.destination == server && p.payload > 0 &&
        p.time_us < failure_.wall_us && p.time_us > last.wall_us) {
      last = last.at(p.time_us);
    }
  }
  return last;
}

// The peer resumes (SIGCONT) after the pause; the target must still hold the connection
// once the heartbeat's bound has passed since the peer resumed.
Result<Measurement> Run::watch_pause(const Expectation& expected) {
  reference_ = failure_;
  const Clock::time_point resume_at = failure_.steady + spec_.pause;
  const Clock::time_point check_at = resume_at + expected.detection.latest + kSurvivalMargin;
  bool resumed = false;
  while (!stopped()) {
    drain_capture();
    const Clock::time_point now = Clock::now();
    if (!resumed && now >= resume_at) {
      if (auto resumed_peer = peer_process_->signal(SIGCONT); !resumed_peer) {
        return resumed_peer.error();
      }
      resumed = true;
    }
    if (target_->exit_status()) return errno_error(ECHILD, "the target exited");
    auto found = target_connection();
    if (!found) return found.error();
    Measurement m;
    const bool holding = *found && (*found)->state == TcpConnectionState::established;
    if (!holding) {
      m.kind = Measurement::dropped;
      m.after = std::chrono::duration_cast<Millis>(now - reference_.steady);
      m.note = "the target ended the connection of a peer that only paused";
      return m;
    }
    if (now >= check_at) {
      m.kind = Measurement::survived;
      m.note = fmt::format("still established {} after the peer resumed from a {} pause",
                           format_duration(expected.detection.latest + kSurvivalMargin),
                           format_duration(spec_.pause));
      return m;
    }
    std::this_thread::sleep_for(Millis(10));
  }
  return errno_error(EINTR, "interrupted");
}

// A process exit happens when the peer's kernel closes the socket, which its FIN shows on
// the wire; the signal only asks the process to die. Running that exit is the
// scheduler's business, not TCP's, and a loaded host takes its time: 62 and 123 ms after
// the SIGKILL under ctest -j16 on two cores, against a FIN that is read at once. The
// moment is the FIN's capture time on the lab's clocks; without a capture (or a FIN seen),
// the signal's.
Moment Run::peer_closed_moment() {
  drain_capture();
  sockaddr_storage peer{};
  socklen_t length = sizeof(peer);
  if (::getpeername(detector_.get(), reinterpret_cast<sockaddr*>(&peer), &length) != 0) {
    return failure_;
  }
  const net::CompactAddress from = net::compact(net::SocketAddress{peer, length});
  for (const net::CapturedPacket& packet : packets_) {
    if (packet.kind != net::CapturedPacket::kTcp || !(packet.source == from) ||
        (packet.flags & net::kFin) == 0 || packet.time_us < failure_.wall_us) {
      continue;
    }
    return failure_.at(packet.time_us);
  }
  return failure_;
}

// The kernel counts an idle connection's time from the last segment it received. That is
// the lab's last exchange, unless the peer sent more before it failed: an answer to a
// keepalive probe, when the fault came after idle (a loaded machine, or a fault that
// waited for the firewall). Then the lab's own origin would put the end one idle time
// late, with one probe too many; the capture says when the peer really went quiet.
Moment Run::peer_last_segment_moment() {
  drain_capture();
  const auto last = last_captured_from_peer(detector_.get(), packets_, failure_.wall_us);
  if (!last || *last <= last_segment_.wall_us) return last_segment_;
  return last_segment_.at(*last);
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
  } else if (!spec_.windows_client.empty() && peer_) {
    // The Windows client's end is the remote end of the server's socket the lab holds.
    sockaddr_storage remote{};
    socklen_t length = sizeof(remote);
    if (::getpeername(peer_.get(), reinterpret_cast<sockaddr*>(&remote), &length) != 0) return;
    self = net::compact(net::SocketAddress{remote, length});
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

}  // namespace tcpka::tools::lab::detail
