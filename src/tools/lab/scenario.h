// A lab scenario: what breaks, who must notice, and what the model says will happen;
// and, once run, what happened.
#pragma once

#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "lab/topology.h"
#include "lab/trace.h"
#include "tcpka/detection_model.h"
#include "tcpka/heartbeat.h"
#include "tcpka/policy.h"

namespace tcpka::tools::lab {

// The port the server host listens on, in every scenario.
inline constexpr std::uint16_t kServerPort = 7001;

// How the lab breaks the peer.
enum class Fault {
  kill_process,  // SIGKILL the peer's process: its kernel closes the connection
  stop_process,  // SIGSTOP it: the process hangs, its kernel still answers
  blackhole,     // the router drops everything to and from the peer's host
  reboot,        // the peer's host comes back with the same address and no connections
  unreachable,   // the router answers for the peer's host with ICMP host unreachable
  partition,     // a blackhole for a while (see Outage), then healed
  nat_forgets,   // the router's connection tracking forgets idle flows
  no_listener,   // connect(): the peer's host is silent from the start (SYN dropped)
  // Many connections at once (ScenarioSpec::connections), judged as a population:
  lossy_path,  // healthy and idle over a path that loses ScenarioSpec::loss of its packets
  mass_crash,  // from two client hosts; one vanishes, the other stays
};

struct ScenarioSpec {
  std::string name;     // "host-crash-idle"
  std::string variant;  // "UT", "tcp_retries2=5", "IPv6", "client's view"; empty: the plain one
  std::string story;    // one line: what the peer does, who must notice
  Fault fault = Fault::blackhole;
  PeerFailure failure = PeerFailure::host_silent;  // the model's row
  Activity activity = Activity::idle;              // the model's column: what the detector does
  Host detector = Host::server;                    // whose socket has the policy and must notice
  int family = AF_INET;
  Policy policy;                    // the detector's
  std::optional<int> tcp_retries2;  // set in the detector's namespace
  std::optional<int> tcp_syn_retries;
  // partition: how long the path stays cut, relative to the policy's probes.
  enum class Outage {
    short_of_last_probe,  // heals between the first and the last keepalive probe
    past_the_bound,       // heals seconds after the connection should have died
  };
  Outage outage = Outage::short_of_last_probe;
  Millis nat_timeout{0};       // nat_forgets: the router's established timeout
  Millis idle_before_send{0};  // nat_forgets: silence before the detector sends again
  // Black-box mode: the user's server command ({port} replaced), run in the server host
  // instead of the lab's own listener. The server is the detector; its policy is its own,
  // read from its accepted socket.
  std::string target;
  // What the lab's client sends the target once connected (--target-send); empty: nothing.
  std::string target_send;
  // Windows mode: the detector is this Windows program (tcpka-lab-client.exe), run under
  // Wine in the client host; it applies the policy through libtcpka's Windows path.
  std::string windows_client;
  // lossy_path and mass_crash: how many connections in all; lossy_path: the share of
  // packets lost each way, and how long after its last segment a connection is watched.
  int connections = 0;
  double loss = 0;
  Millis window{0};
  // Application heartbeats: the server host runs `tcpka serve --heartbeat` (a black box
  // the lab predicts from this policy) and the peer answers its pings until it fails.
  std::optional<HeartbeatPolicy> heartbeat;
  // stop_process: the peer resumes (SIGCONT) this long after it was stopped, as after a
  // pause for garbage collection; zero: it stays stopped.
  Millis pause{0};
  // Heartbeats: every other pong of the peer's waits this long, as on a path whose delay
  // varies; phi accrual learns the wider spread.
  Millis pong_delay{0};

  std::string title() const { return variant.empty() ? name : name + " (" + variant + ")"; }
};

// What should happen, from the model (or, for the faults it has no row for, from what
// the fault does).
struct Expectation {
  enum Kind {
    none,             // no prediction: the scenario did not get as far as one
    detected,         // the detector's socket ends within [earliest, latest]
    beyond_cap,       // it ends, but later than the lab waits
    never,            // the kernel never reports it
    survives,         // the connection outlives the fault and still carries data
    breaks_silently,  // data sent is lost and nothing reports it
    observe,  // black-box mode, the target's settings unread: the lab only shows what it does
  };
  Kind kind = none;
  Detection detection;  // for detected and beyond_cap
  std::string why;      // for the others
};

struct Measurement {
  enum Kind {
    ended,          // the detector's socket reported the end
    dropped,        // black-box mode: the target's connection left ESTABLISHED/CLOSE_WAIT
    still_open,     // nothing within the cap
    survived,       // a byte sent after the fault arrived
    send_vanished,  // it did not
    interrupted,    // the user stopped the lab first
    failed_to_run,
  };
  Kind kind = still_open;
  Millis after{0};        // ended: since the reference moment (the model's origin)
  std::error_code error;  // ended: empty for end of file
  CloseCause cause = CloseCause::unknown;
  int probes = 0;  // probes the detector sent after the reference moment
  int retransmissions = 0;
  std::string note;  // failed_to_run: why; otherwise anything worth saying
};

// A scenario of many connections, judged as a population.
struct Population {
  int connections = 0;  // in all
  Millis took_to_open{0};
  // lossy_path: healthy connections killed within the window, against the model.
  // The probability that one is, between every timer on time (predicted) and every one
  // as late as the model's tolerance allows (predicted_low): fewer cycles fit the window.
  double predicted_low = 0;
  double predicted = 0;
  int killed = 0;
  int ended_otherwise = 0;   // ended within the window, but not by keepalive (not expected)
  double low = 0, high = 0;  // the binomial interval of killed / connections
  double confidence = 0;     // of that interval
  // mass_crash: the crashed host's connections, each against the predicted interval.
  int dead = 0;
  int detected_inside = 0;   // ended with the predicted errno inside [earliest, latest]
  int detected_outside = 0;  // ended, but outside it or with another errno
  int healthy_closed = 0;    // the other host's connections that ended (none should)
  // When each connection that ended did, since its last segment, in order: the dead
  // (mass_crash) or the killed (lossy_path).
  std::vector<Millis> detection_times;
  Millis percentile(double p) const;  // of detection_times; 0 when empty
};

struct ScenarioResult {
  ScenarioSpec spec;
  Expectation expected;
  Measurement measured;
  bool pass = false;
  std::vector<TracedPacket> packets;   // the detector's link, from the connection's SYN
  std::int64_t reference_time_us = 0;  // the moment times count from, on the capture clock
  // Black-box mode: what the target's accepted socket held (the prediction's policy), and
  // how it was read ("bpf", "pidfd"); or why it could not be.
  std::optional<ResolvedPolicy> target_settings;
  std::string target_settings_source;
  // Black-box mode: the target's last lines of output, kept when it exited or the
  // scenario did not run.
  std::vector<std::string> target_output;
  std::optional<Population> population;  // lossy_path and mass_crash
};

// Whether `measured` is what `expected` says, within the tolerance.
bool conforms(const Expectation& expected, const Measurement& measured);

}  // namespace tcpka::tools::lab
