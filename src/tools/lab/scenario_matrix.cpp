#include "lab/scenario_matrix.h"

#include <fmt/core.h>
#include <unistd.h>

#include <array>

#include "net/endpoint.h"

namespace tcpka::tools::lab {
namespace {

Policy without_user_timeout(Policy policy) {
  policy.user_timeout = UserTimeout::off();
  return policy;
}

// The lossy path's policies: two counts at a second's idle and interval, so that in the
// window the kernel gets about a dozen chances per connection to kill it falsely: one
// policy kills a third of the connections, the other a tenth, well inside the window.
constexpr const char* kLossyPolicies[] = {"idle=1s,intvl=1s,cnt=2", "idle=1s,intvl=1s,cnt=3"};
// Kills come on the one-second grid of idle and interval (late by the timers' slack): a
// window half-way between two grid points is not straddled by a late one.
constexpr Millis kLossyWindow{15'500};

// For a policy with keepalive off, the UT variants' user timeout.
constexpr Millis kUserTimeoutWithoutKeepalive{5'000};

// The policy's own user timeout if it has one, else idle + interval * count (or, with
// keepalive off, which has no such sum, a fixed one).
Policy with_user_timeout(Policy policy) {
  if (policy.user_timeout.mode == UserTimeout::Mode::fixed) return policy;
  policy.user_timeout = policy.keepalive == false ? UserTimeout::fixed(kUserTimeoutWithoutKeepalive)
                                                  : UserTimeout::automatic();
  return policy;
}

// The lab's heartbeats: fast enough for the default matrix's time, slow enough that a
// loaded machine's scheduler does not look like a hung peer.
constexpr const char* kLabHeartbeat = "250ms,timeout=1s";
// Phi accrual's: settled on 250 ms gaps with the 100 ms minimum deviation and Akka's
// acceptable pause of 500 ms, phi 8 is reached after about 1.3 s of silence. A 300 ms
// stop comes on top of up to an interval since the last pong, and of the scheduler's
// delay in resuming the peer on a loaded machine: it stays well short of that.
constexpr const char* kLabPhiHeartbeat = "250ms,phi=8,pause=500ms";
constexpr Millis kLabPause{300};
// Phi adapting: the same detector on a steady path and on one where every other pong is
// late by 400 ms. Gaps of 0.5 s settle phi 8 at about 1 s of silence; gaps alternating
// 0.5 s and 0.9 s at about 1.7 s.
constexpr const char* kLabPhiAdapting = "500ms,phi=8";
constexpr Millis kLabPongDelay{400};

// tcpka serve with heartbeats in the server host, run as a black box: the lab predicts
// it from the heartbeat it was given, and reads the cause from its close line. The
// program is this one.
std::string heartbeat_server(const HeartbeatPolicy& heartbeat) {
  std::array<char, 4096> self{};
  const ssize_t n = ::readlink("/proc/self/exe", self.data(), self.size() - 1);
  const std::string program =
      n > 0 ? std::string(self.data(), static_cast<std::size_t>(n)) : "tcpka";
  return fmt::format("{} serve --listen {} --heartbeat {} --log json", program,
                     net::to_string(Topology::address(Host::server, AF_INET, kServerPort)),
                     to_string(heartbeat));
}

struct Builder {
  const Policy& policy;
  std::vector<ScenarioSpec> specs;

  ScenarioSpec& add(const char* name, const char* story, Fault fault, PeerFailure failure,
                    Activity activity) {
    ScenarioSpec spec;
    spec.name = name;
    spec.story = story;
    spec.fault = fault;
    spec.failure = failure;
    spec.activity = activity;
    spec.policy = policy;
    specs.push_back(spec);
    return specs.back();
  }
  // A copy of the last scenario, as a variant of it.
  ScenarioSpec& variant(const char* what) {
    ScenarioSpec copy = specs.back();
    copy.variant = what;
    specs.push_back(copy);
    return specs.back();
  }
  // A variant of the last scenario in which tcpka serve --heartbeat `heartbeat` is the
  // server, and `story` is told of it.
  ScenarioSpec& heartbeat_variant(const char* what, const char* heartbeat, std::string story) {
    ScenarioSpec& spec = variant(what);
    spec.heartbeat = parse_heartbeat(heartbeat).value();
    spec.target = heartbeat_server(*spec.heartbeat);
    spec.story = std::move(story);
    return spec;
  }
};

}  // namespace

std::vector<ScenarioSpec> default_matrix(const Policy& policy, const CrowdSizes& sizes) {
  Builder m{policy, {}};
  using F = Fault;
  using P = PeerFailure;
  using A = Activity;

  m.add("process-exit", "the client's process is killed; its kernel closes: the server reads EOF",
        F::kill_process, P::process_exit, A::idle);

  m.add("host-crash-idle",
        "the client's host vanishes while the connection is idle: keepalive must find it",
        F::blackhole, P::host_silent, A::idle);
  m.variant("IPv6").family = AF_INET6;
  m.variant("client's view").detector = Host::client;
  m.specs.back().family = AF_INET;
  m.specs.back().story = "the server's host vanishes: the client's keepalive must find it";

  m.add("host-crash-busy",
        "the client's host vanishes while the server has data in flight: keepalive is "
        "suspended, retransmissions or the user timeout decide",
        F::blackhole, P::host_silent, A::sending)
      .policy = without_user_timeout(policy);
  m.specs.back().variant = "no UT";
  m.variant("no UT, tcp_retries2=5").tcp_retries2 = 5;
  m.variant("UT").policy = with_user_timeout(policy);
  m.specs.back().tcp_retries2.reset();

  m.add("host-crash-zero-window",
        "the client stopped reading, the server filled its window, then the host vanishes: "
        "only the user timeout is sure to end it",
        F::blackhole, P::host_silent, A::window_closed)
      .policy = without_user_timeout(policy);
  m.specs.back().variant = "no UT";
  m.variant("UT").policy = with_user_timeout(policy);

  m.add("host-reboot",
        "the client's host reboots (same address, no connections): the next probe meets a RST",
        F::reboot, P::host_rebooted, A::idle);
  m.variant("client's view").detector = Host::client;
  m.specs.back().story = "the server's host reboots: the client's next probe meets a RST";

  m.add("unreachable",
        "the router answers for the client's host with ICMP host unreachable, the "
        "connection idle",
        F::unreachable, P::unreachable, A::idle);
  m.variant("sending, UT").activity = A::sending;
  m.specs.back().policy = with_user_timeout(policy);
  m.specs.back().story =
      "the router answers for the client's host with ICMP host unreachable, data in flight";

  m.add("partition-heals",
        "the path is cut, then heals before keepalive's last probe: the connection must "
        "survive",
        F::partition, P::host_silent, A::idle)
      .variant = "short outage";
  m.variant("long outage").outage = ScenarioSpec::Outage::past_the_bound;
  m.specs.back().story =
      "the path is cut for longer than keepalive's bound: keepalive must end the connection";

  m.add("peer-hung",
        "the client's process is stopped (SIGSTOP): its kernel answers every probe, so "
        "keepalive never fires; only application heartbeats can tell",
        F::stop_process, P::process_hung, A::idle);
  m.heartbeat_variant(
      "heartbeat", kLabHeartbeat,
      fmt::format("the client's process is stopped (SIGSTOP) under tcpka serve --heartbeat {}: "
                  "its pings go unanswered and the heartbeat ends the connection",
                  kLabHeartbeat));
  m.heartbeat_variant(
      "heartbeat, phi", kLabPhiAdapting,
      fmt::format("the client's process is stopped under tcpka serve --heartbeat {}: phi "
                  "accrual, taught by steady pongs, ends the connection",
                  kLabPhiAdapting));
  ScenarioSpec& uneven = m.variant("heartbeat, phi, uneven path");
  uneven.pong_delay = kLabPongDelay;
  uneven.story = fmt::format(
      "as the row above, but every other pong is {} late: phi learns the wider spread and "
      "waits longer before it ends the connection",
      format_duration(kLabPongDelay));
  ScenarioSpec& pause = m.heartbeat_variant(
      "pause, phi", kLabPhiHeartbeat,
      fmt::format("the client's process pauses for {} (SIGSTOP, SIGCONT), as in a garbage "
                  "collection, under tcpka serve --heartbeat {}: it must not be ended",
                  format_duration(kLabPause), kLabPhiHeartbeat));
  pause.pong_delay = Millis(0);
  pause.pause = kLabPause;

  ScenarioSpec& nat = m.add("nat-timeout",
                            "a middlebox forgets flows idle for 3s; the server sends after 5s "
                            "of silence",
                            F::nat_forgets, P::host_silent, A::idle);
  nat.policy = parse_policy("off").value();
  nat.variant = "keepalive off";
  nat.nat_timeout = Millis(3'000);
  nat.idle_before_send = Millis(5'000);
  m.variant("keepalive").policy = policy;

  ScenarioSpec& blackhole =
      m.add("connect-blackhole", "connect() to a host that never answers: SYN retries",
            F::no_listener, P::host_silent, A::connecting);
  blackhole.detector = Host::client;
  blackhole.variant = "tcp_syn_retries=2";
  blackhole.tcp_syn_retries = 2;
  blackhole.policy = without_user_timeout(policy);
  m.variant("UT").policy = with_user_timeout(policy);
  m.specs.back().tcp_syn_retries.reset();
  m.specs.back().story = "connect() to a host that never answers: the user timeout";

  for (const char* lossy : kLossyPolicies) {
    ScenarioSpec& spec = m.add("lossy-path", "", Fault::lossy_path, P::host_silent, A::idle);
    spec.policy = parse_policy(lossy).value();
    spec.variant = lossy;
    spec.connections = sizes.lossy_connections;
    spec.loss = sizes.loss;
    spec.window = kLossyWindow;
    spec.story = fmt::format(
        "{} healthy idle connections over a path losing {:g}% of packets each way: keepalive "
        "kills some; the model says what share within {}",
        spec.connections, sizes.loss * 100, format_seconds(spec.window));
  }

  ScenarioSpec& crash = m.add("mass-crash", "", Fault::mass_crash, P::host_silent, A::idle);
  crash.connections = sizes.mass_crash_connections;
  crash.variant = fmt::format("{} connections", crash.connections);
  crash.story = fmt::format(
      "{} idle connections from two client hosts; one host vanishes: each of its connections "
      "found inside the interval, none of the other's closed",
      crash.connections);
  return m.specs;
}

ScenarioSpec windows_scenario(const Policy& policy, const std::string& client) {
  ScenarioSpec spec;
  spec.name = "windows-client";
  spec.variant = "Wine";
  spec.story =
      "the server's host crashes; a Windows program waiting in recv() (under Wine, keepalive "
      "through SIO_KEEPALIVE_VALS: 10 probes) must notice";
  spec.fault = Fault::blackhole;
  spec.failure = PeerFailure::host_silent;
  spec.activity = Activity::receiving;
  spec.detector = Host::client;
  // Wine has no TCP_MAXRT: the Windows path would refuse a user timeout.
  spec.policy = policy;
  spec.policy.user_timeout = {};
  spec.windows_client = client;
  return spec;
}

}  // namespace tcpka::tools::lab
