#include "lab/scenario_runner.h"

#include <fmt/core.h>
#include <sys/socket.h>

#include <optional>
#include <span>
#include <thread>

#include "lab/population_scenarios.h"
#include "lab/scenario_run.h"
#include "net/peer_window.h"
#include "net/sock_diag.h"
#include "tcpka/socket_options.h"
#include "tcpka/system_defaults.h"

namespace tcpka::tools::lab {
namespace detail {

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
    if (spec_.fault == Fault::reboot && topology_) {
      if (auto rebooted = topology_->finish_reboot(); !rebooted && ran) ran = rebooted;
    }
  }
  if (!ran) {
    result.measured.kind = stopped() ? Measurement::interrupted : Measurement::failed_to_run;
    result.measured.note = ran.error().message;
  }
  result.target_settings = target_settings_;
  result.target_settings_source = target_settings_source_;
  if (target_ && (!ran || target_->exit_status())) {
    result.target_output = target_->last_lines(kTargetOutputLines);
  }
  drain_capture();
  result.packets = trace(packets_);
  result.reference_time_us = reference_.wall_us;
  count_probes(result);
  if (spec_.fault == Fault::reboot && topology_ && topology_->rebooted_at() &&
      result.measured.note.empty()) {
    const auto took =
        std::chrono::duration_cast<Millis>(*topology_->rebooted_at() - failure_.steady);
    result.measured.note = fmt::format(
        "the new {} host answered {} after the failure; until then the old one, without the "
        "connection, held its address",
        peer_of(spec_.detector) == Host::client ? "client" : "server", format_duration(took));
  }
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
  if (!spec_.windows_client.empty()) {
    auto set =
        net::write_net_sysctl(ns, "ipv4/tcp_keepalive_probes", std::to_string(kWindowsFixedCount));
    if (!set) return set;
  }
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

Result<void> Run::prepare_activity() {
  // A black box or a Windows program: no socket of ours to look at.
  if (!spec_.target.empty() || !spec_.windows_client.empty()) return {};
  if (spec_.activity == Activity::window_closed) {
    auto shut = net::fill_peer_window(detector_.get(), kSetupTimeout);
    if (!shut) return shut.error();
    const auto wall_now = Moment::now();
    window_shut_ = {
        *shut,
        wall_now.wall_us -
            std::chrono::duration_cast<std::chrono::microseconds>(wall_now.steady - *shut).count()};
  }
  if (spec_.failure == PeerFailure::host_rebooted && peer_ &&
      (spec_.activity == Activity::idle || spec_.activity == Activity::receiving)) {
    auto in_force = read_policy(detector_.get());
    if (!in_force) return in_force.error();
    if (in_force->keepalive) {
      // A rebooted peer is found by the first keepalive probe: its last segment comes
      // after the first keepalive timer run, which a slow machine only makes later.
      std::this_thread::sleep_for(past_the_first_keepalive_run(in_force->idle));
      if (auto sent = send_bytes(peer_.get(), 1); !sent) return sent;
      if (auto read = read_one_byte(detector_.get(), kSetupTimeout); !read) return read;
      // The model's origin is when the segment arrived, not when the lab got round to
      // reading it (later, on a loaded machine): its capture time.
      last_segment_ = Moment::now();
      drain_capture();
      if (auto arrived = last_captured_from_peer(detector_.get(), packets_)) {
        last_segment_ = last_segment_.at(*arrived);
      }
    }
  }
  auto state = read_tcp_state(detector_.get());
  if (!state) return state.error();
  before_failure_ = *state;
  return {};
}

Result<Expectation> Run::expect() {
  auto system = net::inside(topology_->of(spec_.detector), [] { return read_system_defaults(); });
  if (!system) return system.error();
  const bool windows = !spec_.windows_client.empty();
  if (windows) *system = documented_defaults(TcpStack::windows);
  auto resolved = resolve(spec_.policy, *system, windows ? kWindowsLimits : platform_limits());
  if (!resolved) return resolved.error();
  // A black box is predicted from what its socket holds, when that could be read.
  if (!spec_.target.empty() && target_settings_) *resolved = *target_settings_;
  if (windows && windows_fixed_count_) resolved->count = *windows_fixed_count_;
  PathFacts path;
  if (before_failure_ && before_failure_->rtt) {
    path.rtt = std::chrono::duration_cast<Millis>(*before_failure_->rtt);
  }
  if (before_failure_ && before_failure_->rto) {
    path.rto = std::chrono::duration_cast<Millis>(*before_failure_->rto);
  }
  Expectation e;
  if (spec_.heartbeat) return expect_heartbeat(path);
  if (!spec_.target.empty() && !target_settings_) {
    e.kind = Expectation::observe;
    e.why = "the target's settings are " + target_settings_source_ +
            ": the lab only watches what it does";
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
  if (spec_.fault == Fault::partition) {
    // Keepalive's last probe goes out one interval before the end; an outage that heals
    // before it lets that probe through, and its answer saves the connection.
    const Millis last_probe = e.detection.earliest - resolved->interval;
    const bool probed = resolved->keepalive && e.detection.detected && last_probe > Millis(0);
    if (spec_.outage == ScenarioSpec::Outage::short_of_last_probe) {
      outage_ = probed && last_probe > resolved->idle ? (resolved->idle + last_probe) / 2
                                                      : resolved->idle / 2;
    } else {
      outage_ = (e.detection.detected ? e.detection.earliest : limits_.cap) + kPastTheBound;
    }
    if (probed && outage_ + kHealMargin < last_probe) {
      e.kind = Expectation::survives;
      e.why = fmt::format("the outage ({}) heals before keepalive's last probe (at {})",
                          format_duration(outage_), format_duration(last_probe));
      return e;
    }
  }
  // A black box drops the connection when its program reads the EOF and closes: the
  // kernel's bound plus the program's time to react, which a loaded machine stretches
  // (197 ms seen for a Python server beside the test suite).
  if (!spec_.target.empty() && spec_.failure == PeerFailure::process_exit) {
    e.detection.latest += kTargetReaction;
  }
  e.kind = !e.detection.detected              ? Expectation::never
           : e.detection.latest > limits_.cap ? Expectation::beyond_cap
                                              : Expectation::detected;
  return e;
}

// The silences serve's detector has seen end in a heartbeat: from the connection's
// start, the gaps between the peer's pongs as the capture saw them arrive. Phi learns
// from them, so the lab waits for enough of them first.
std::vector<Millis> Run::heartbeat_gaps_seen() {
  const net::CompactAddress server =
      net::compact(Topology::address(Host::server, spec_.family, kServerPort));
  std::vector<Millis> gaps;
  const Clock::time_point deadline = Clock::now() + kLearningLimit;
  while (!stopped()) {
    drain_capture();
    gaps.clear();
    std::optional<std::int64_t> previous;
    for (const net::CapturedPacket& p : packets_) {
      if (p.kind != net::CapturedPacket::kTcp || !(p.destination == server) ||
          p.time_us < connect_start_.wall_us) {
        continue;
      }
      if (!previous) previous = p.time_us;  // the handshake: the detector's start
      if (p.payload == 0) continue;
      gaps.push_back(Millis((p.time_us - *previous) / 1000));
      previous = p.time_us;
    }
    if (gaps.size() >= kPhiSamples || Clock::now() >= deadline) return gaps;
    std::this_thread::sleep_for(Millis(20));
  }
  return gaps;
}

// The server's heartbeat, not its kernel, finds a hung peer: predicted from the policy
// serve was given (for phi, and the gaps it has seen). A peer that resumes within the
// bound (a pause) must not be ended.
Expectation Run::expect_heartbeat(const PathFacts& path) {
  Expectation e;
  const HeartbeatPolicy& heartbeat = *spec_.heartbeat;
  std::vector<Millis> seen;
  if (heartbeat.phi && spec_.pause == Millis(0)) seen = heartbeat_gaps_seen();
  e.detection = predict_heartbeat(spec_.failure, heartbeat, heartbeat_tick(heartbeat), path, seen);
  // serve's heartbeat is a program's timer, not the kernel's: on a loaded machine the
  // scheduler adds its delay, as it does to any black box's reaction.
  e.detection.latest += kTargetReaction;
  if (spec_.pause > Millis(0)) {
    e.kind = Expectation::survives;
    e.why = fmt::format(
        "the peer resumes after {} and answers the pings that waited; the "
        "heartbeat ends a peer only after {} of silence",
        format_duration(spec_.pause), format_seconds(e.detection.earliest));
    return e;
  }
  e.kind = !e.detection.detected              ? Expectation::never
           : e.detection.latest > limits_.cap ? Expectation::beyond_cap
                                              : Expectation::detected;
  return e;
}

}  // namespace detail

ScenarioResult run_scenario(const ScenarioSpec& spec, const RunLimits& limits,
                            ScenarioStatus& status) {
  if (spec.fault == Fault::lossy_path) return run_lossy_path(spec, limits, status);
  if (spec.fault == Fault::mass_crash) return run_mass_crash(spec, limits, status);
  return detail::Run(spec, limits, status).go();
}

bool conforms(const Expectation& expected, const Measurement& measured) {
  switch (expected.kind) {
    case Expectation::detected:
      // A black box's errno is its own: from outside, only the time shows (and, for the
      // lab's own tcpka serve with heartbeats, the cause it logged).
      return (measured.kind == Measurement::ended && expected.detection.admits(measured.after) &&
              measured.error == expected.detection.error) ||
             (measured.kind == Measurement::dropped && expected.detection.admits(measured.after) &&
              (expected.detection.cause != CloseCause::heartbeat_timeout ||
               measured.cause == CloseCause::heartbeat_timeout));
    case Expectation::beyond_cap:
    case Expectation::never:
      return measured.kind == Measurement::still_open;
    case Expectation::survives:
      return measured.kind == Measurement::survived;
    case Expectation::breaks_silently:
      return measured.kind == Measurement::send_vanished;
    case Expectation::observe:
      return measured.kind != Measurement::failed_to_run;
    case Expectation::none:
      return false;
  }
  return false;
}

}  // namespace tcpka::tools::lab
