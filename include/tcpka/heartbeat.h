// Application heartbeats: what finds a peer whose kernel is fine but whose process is
// not (stopped, deadlocked, stuck in a pause). Its kernel answers every keepalive probe,
// so only the application can tell.
//
// The scheme tcpka uses (docs/heartbeats.md has the wire format): each end pings when it
// has heard nothing from its peer for `interval`, and answers every ping with a pong; any
// bytes from the peer (data, ping or pong) count as hearing from it. A detector decides
// from the arrival times when the peer is suspect and when it is dead:
//  - fixed: dead once nothing was heard for `timeout` (ZeroMQ's ZMTP heartbeats,
//    gRPC's keepalive time + timeout, Netty's IdleStateHandler);
//  - phi accrual (Hayashibara et al. 2004, as Akka and Cassandra use it): the gaps that
//    ended in a heartbeat give a mean and a deviation, and the peer is dead once the
//    silence is so unlikely that phi = -log10(P(a gap this long)) reaches `threshold`.
//    A path whose heartbeats arrive late moves its own deadline later.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tcpka/detection_model.h"
#include "tcpka/duration.h"
#include "tcpka/result.h"

namespace tcpka {

struct PhiAccrual {
  double threshold = 8;  // Akka's default: phi 8, a mistake once in 10^8
  int window = 100;      // gaps remembered (Akka keeps 1000; 100 adapts in minutes, not hours)
  Millis min_deviation{100};
  Millis acceptable_pause{0};  // added to the mean: a pause this long is normal

  bool operator==(const PhiAccrual&) const = default;
};

// Text form, read by parse_heartbeat: INTERVAL[,timeout=D] or INTERVAL,phi=X[,window=N]
// [,min-deviation=D][,pause=D]; e.g. "1s", "1s,timeout=5s", "500ms,phi=8,pause=2s".
struct HeartbeatPolicy {
  Millis interval{1'000};  // ping after hearing nothing for this long
  Millis timeout{3'000};   // fixed detector: dead after hearing nothing for this long
  std::optional<PhiAccrual> phi;

  bool operator==(const HeartbeatPolicy&) const = default;
};

// Errors name the part at fault: "timeout=500ms must be longer than the interval (1s)".
Result<HeartbeatPolicy> parse_heartbeat(std::string_view text);
// The form parse_heartbeat reads back, defaults left out: "1s,timeout=3s".
std::string to_string(const HeartbeatPolicy& policy);

enum class PeerHealth { alive, suspect, dead };
std::string_view to_string(PeerHealth health);

// One connection's detector. Times are the caller's monotonic clock, in milliseconds.
// Fixed detectors hold no memory beyond the object; phi keeps `window` gaps.
class HeartbeatDetector {
 public:
  // The peer counts as heard from at `start` (the connection's start).
  HeartbeatDetector(const HeartbeatPolicy& policy, Millis start);

  // Bytes arrived from the peer at `at`. A heartbeat (ping or pong) also teaches phi the
  // gap it ended; data does not, since a busy peer's gaps say nothing of its silences.
  void heard(Millis at, bool heartbeat);

  Millis last_heard() const { return last_heard_; }
  // When the peer becomes suspect (fixed: an interval of silence, the ping is out; phi:
  // phi 1) and dead, if nothing is heard before.
  Millis suspect_at() const;
  Millis dead_at() const;
  PeerHealth health(Millis now) const;
  // phi at `now` (fixed detectors: silence / timeout * 8, so that 8 is dead for both).
  double phi(Millis now) const;
  // The mean and deviation of the gaps phi uses, for reports; zero for fixed.
  double mean_gap_ms() const;
  double deviation_ms() const;

 private:
  // The silence at which phi reaches `phi`.
  Millis silence_for(double phi) const;

  const HeartbeatPolicy* policy_;
  Millis last_heard_;
  // Phi's gaps: a ring of `window`, with running sums so that each gap costs O(1).
  std::vector<std::uint32_t> gaps_;
  std::size_t next_gap_ = 0;
  double sum_ = 0;
  double sum_of_squares_ = 0;
};

// How long a heartbeat takes to find a failed peer, counted from the last bytes heard
// from it (Origin::last_message): the timeout for a fixed detector; for phi, the silence
// at which phi reaches its threshold after the gaps `seen` (the silences that ended in a
// heartbeat, oldest first), or, without them, after a window of gaps of exactly one
// interval. `tick` is the granularity at which the caller checks deadlines (tcpka's
// serve and connect: interval / 16, at least 10 ms). A process exit closes the
// connection at once, before any heartbeat.
Detection predict_heartbeat(PeerFailure failure, const HeartbeatPolicy& policy, Millis tick,
                            const PathFacts& path = {}, std::span<const Millis> seen = {});

// The granularity tcpka's own loops check heartbeat deadlines at: interval / 16, 10 ms
// at least.
Millis heartbeat_tick(const HeartbeatPolicy& policy);

}  // namespace tcpka
