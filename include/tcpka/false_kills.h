// Healthy connections that keepalive kills: on a path that loses packets, a probe or its
// answer can be lost `count` times in a row, and the kernel then ends a connection whose
// peer was there all along. How likely that is within a time, and the policy that finds
// dead peers fastest while keeping it below what a user accepts.
//
// The model follows net/ipv4/tcp_timer.c's keepalive timer for a connection on which
// nothing else is sent (an idle one, the peer without keepalive of its own):
//  - the first probe goes out at idle after the last segment received, the next ones
//    every interval while they go unanswered;
//  - an answer (any acceptable ACK) sets probes_out to 0 and restarts the idle clock from
//    its arrival: the next probe leaves max(idle, interval) after it;
//  - without a user timeout the connection ends at the run after `count` unanswered
//    probes; with one, count is ignored and it ends at the first run at or after the user
//    timeout that follows at least one probe: ceil((ut - idle) / intvl) unanswered probes,
//    at least one (ut=auto, idle + intvl * cnt, keeps `count`);
//  - a probe round trip fails when the probe or its answer is lost, each independently.
// A probe's answer is rate limited by the peer (tcp_invalid_ratelimit, 500 ms by default):
// intervals shorter than that lose answers on a healthy path, which the model leaves out.
#pragma once

#include <string>

#include "tcpka/duration.h"
#include "tcpka/policy.h"
#include "tcpka/result.h"

namespace tcpka {

// The share of packets lost on the way to the peer and on the way back, each 0..1.
struct PathLoss {
  double to_peer = 0;
  double from_peer = 0;

  // The probability that a probe, or its answer, is lost.
  double round_trip() const { return 1 - (1 - to_peer) * (1 - from_peer); }
};

// How many unanswered probes in a row end the connection under `policy`.
int fatal_probe_losses(const ResolvedPolicy& policy);

// The probability that an idle, healthy connection is ended by its keepalive within
// `within` of its last segment. 0 with keepalive off. Exact (a renewal computed on the
// grid of idle and interval) while that grid has at most a few million steps; beyond, the
// renewal's exponential limit, which is within a part in a thousand once `within` holds
// many cycles.
double false_kill_probability(const ResolvedPolicy& policy, PathLoss loss, Millis within);

// What the user accepts, and the path: for `tcpka policy --recommend`.
struct RecommendationGoal {
  PathLoss loss;
  // Keepalive must keep the flow alive in a middlebox that forgets flows idle this long
  // (zero: none on the path).
  Millis idle_limit{0};
  // At most this probability, per connection, of a false kill within a day.
  double false_kills_per_day = 1e-6;
  Millis min_interval{1'000};  // above the peer's 500 ms answer rate limit
  // Every idle connection sends a probe each idle: a floor on it bounds that traffic
  // (100,000 connections at 10 s idle send 10,000 probes a second).
  Millis min_idle{10'000};
};

struct Recommendation {
  ResolvedPolicy policy;  // with ut=auto: the user timeout bounds data in flight alike
  Millis detection{0};    // a silent peer of an idle connection: idle + intvl * cnt
  double false_kills_per_day = 0;
  double false_kills_per_hour = 0;
  std::string why;  // what bound it, in a sentence
};

// The policy that detects a silent peer soonest while meeting the goal (searching idle,
// interval and count in whole seconds). Fails when no policy meets it (the message says
// what does not fit).
Result<Recommendation> recommend_policy(const RecommendationGoal& goal);

}  // namespace tcpka
