// How long the kernel takes to tell an application that its peer is gone.
//
// For a failure of the peer (the rows of UNP's table 7.3) and what this side was doing at
// the time (its columns), predict() gives the interval in which the kernel reports the
// failure, the errno the application sees and the CloseCause tcpka will log. The
// numbers follow the Linux kernel's timers (net/ipv4/tcp_timer.c):
//  - keepalive probes are sent only while no sent data is unacknowledged, at idle, then
//    every interval; the connection ends when `count` probes went unanswered;
//  - with TCP_USER_TIMEOUT set, count is ignored: the connection ends at the first
//    keepalive timer run after the user timeout that follows at least one probe;
//  - unacknowledged data first gets a tail-loss probe (after up to one RTO), then is
//    retransmitted with a doubling timeout (from the RTO, up to tcp_rto_max) until
//    tcp_model_timeout(tcp_retries2, 200 ms) has passed since the first of those
//    retransmissions (924.6 s for 15), or until the user timeout has;
//  - a shut receive window is probed the same way; the connection ends after
//    tcp_retries2 unanswered probes, or once the window has been shut for the user
//    timeout, answered or not;
//  - connect() retransmits its SYN tcp_syn_retries (+ tcp_syn_linear_timeouts) times
//    from a 1 s timeout, or gives up at the user timeout;
//  - an ICMP unreachable counts only when it quotes a segment from snd_una on: retransmitted
//    data, not the keepalive and window probes (they carry snd_una - 1), so it changes
//    the errno of a connection with data in flight only.
// Kernel timers may fire late by up to an eighth of their delay, so `latest` is the
// bound * 1.125 + RTT + 50 ms, as DESIGN.md's tolerance says.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "tcpka/close_cause.h"
#include "tcpka/duration.h"
#include "tcpka/policy.h"
#include "tcpka/system_defaults.h"

namespace tcpka {

// What happened to the peer.
enum class PeerFailure {
  process_exit,   // its process exited or was killed; its kernel still answers
  host_silent,    // its host crashed, lost its cable or sits behind a black hole
  host_rebooted,  // its host came back without the connection: it answers with RST
  unreachable,    // a router answers everything sent to it with ICMP host unreachable
  process_hung,   // its process is stopped or deadlocked; its kernel still answers
};

// What this side was doing when the peer failed.
enum class Activity {
  idle,           // nothing to send, nothing unacknowledged
  receiving,      // waiting for the peer's data, nothing unacknowledged
  sending,        // sent data the peer has not acknowledged
  window_closed,  // has data to send, but the peer's receive window is shut
  connecting,     // connect() in progress
};

// Snake-case names for machines ("host_silent") and short phrases for people.
std::string_view to_string(PeerFailure failure);
std::string_view to_string(Activity activity);
std::string_view describe(PeerFailure failure);  // "host crashed / silent"
std::string_view describe(Activity activity);    // "sending (data unacked)"

// The moment a prediction counts from.
enum class Origin {
  failure,       // the peer failing
  last_segment,  // the last segment received from the peer (keepalive's idle clock)
  first_send,    // the first send of the data the peer never acknowledges
  window_shut,   // the peer's receive window shutting
  connect,       // the call to connect()
  last_message,  // the last bytes from the peer's application (heartbeats: tcpka/heartbeat.h)
};
std::string_view describe(Origin origin);  // "the last segment from the peer"

// Facts about the path that the kernel's timers depend on.
struct PathFacts {
  Millis rtt{1};  // round-trip time between the two hosts (negative counts as zero)
  // The connection's retransmission timeout (TCP_INFO's rto) when known. Without it the
  // model spans the RTOs a path of this RTT gets: the minimum plus twice the RTT, plus
  // 1 to 10 ms of rounding up to a jiffy. It matters: whether tcp_retries2 ends the
  // connection at its n-th or (n+1)-th retransmission turns on a few milliseconds.
  std::optional<Millis> rto;
};

struct Detection {
  bool detected = false;  // false: the kernel never reports it (the times are zero)
  Millis earliest{0};     // the kernel's bound
  Millis latest{0};       // the bound with timer slack: bound * 1.125 + RTT + 50 ms
  std::error_code error;  // what the application sees; empty: end of file
  CloseCause cause = CloseCause::unknown;
  // Keepalive or window probes, and data or SYN retransmissions, the kernel sends before
  // it reports: unanswered, or answered by the RST that ends the connection.
  int probes = 0;
  int retransmissions = 0;
  Origin origin = Origin::failure;  // what the times count from
  std::string explanation;          // the mechanism, with the numbers that decide it

  // Whether a measured detection time is within [earliest, latest].
  bool admits(Millis measured) const {
    return detected && measured >= earliest && measured <= latest;
  }
};

Detection predict(PeerFailure failure, Activity activity, const ResolvedPolicy& policy,
                  const SystemDefaults& system, const PathFacts& path = {});

// How long after the handshake a connection's last segment must come for keepalive's
// idle clock to count from it exactly. The kernel arms the keepalive timer at the
// handshake, for idle; that first run may come up to a wheel granule late (about an
// eighth of idle) and counts the idle time in whole jiffies, so a segment inside that
// granule can be found idle long enough up to a jiffy early (docs/model.md, "The first
// probe, to the jiffy"). After it, the run finds the segment too recent and re-arms the
// timer for the rest of idle. Whoever reproduces an idle failure waits this long first.
Millis past_the_first_keepalive_run(Millis idle);

}  // namespace tcpka
